import Foundation
import XCTest

@testable import SASLDB

/// The format detector against files made by the real tools (gdbmtool, db5.3_load, saslpasswd2, python3's sqlite3,
/// gzip, mdb_load) and against synthetic headers for formats no installed tool writes.
final class DatabaseFormatDetectorTests: ScratchDirectoryTestCase {
    override class var scratchPrefix: String { "detect" }

    // MARK: Files made by real tools

    func testGDBMFilesFromOurBackendAndFromGdbmtool() throws {
        let ours = path("ours.gdbm")
        try GDBMFile.open(path: ours, mode: .create(permissions: 0o600)).close()
        XCTAssertEqual(try detectDatabaseFormat(path: ours), .sasldb(.gdbm))

        let tool = path("tool.gdbm")
        try expectSuccess(runTool("gdbmtool", ["-N", "-n", tool, "store", "key", "value"]))
        XCTAssertEqual(try inspectDatabaseFile(path: tool).summary, "GNU dbm (GDBM) database, native byte order")

        // The extended (numsync) header has its own magic, and gdbm opens it.
        let extended = path("extended.gdbm")
        try expectSuccess(runTool("gdbmtool", ["-N", "-n", "-x", extended, "store", "key", "value"]))
        XCTAssertEqual(try detectDatabaseFormat(path: extended), .sasldb(.gdbm))
        try GDBMFile.open(path: extended, mode: .read).close()
    }

    func testGDBMVariantsThisPlatformCannotOpen() throws {
        let original = path("original.gdbm")
        try GDBMFile.open(path: original, mode: .create(permissions: 0o600)).close()
        let bytes = try XCTUnwrap(FileManager.default.contents(atPath: original))

        let swapped = path("swapped.gdbm")
        var swappedBytes = bytes
        swappedBytes.replaceSubrange(0..<4, with: bytes[0..<4].reversed())
        XCTAssertTrue(FileManager.default.createFile(atPath: swapped, contents: swappedBytes))
        XCTAssertEqual(try detectDatabaseFormat(path: swapped), .foreign("a GDBM file of another byte order"))

        // 0x13579acd is the 32-bit-offset magic; gdbm itself refuses it on this platform (gdbmtool says "File header
        // assumes wrong off_t size", though it exits 0).
        let offsets = path("offsets.gdbm")
        var offsetBytes = bytes
        offsetBytes.replaceSubrange(0..<4, with: nativeBytes(0x1357_9acd))
        XCTAssertTrue(FileManager.default.createFile(atPath: offsets, contents: offsetBytes))
        XCTAssertEqual(
            try detectDatabaseFormat(path: offsets),
            .foreign("a GDBM file made on a system with 32-bit file offsets")
        )
        XCTAssertTrue(try runTool("gdbmtool", ["-N", "-r", offsets, "count"]).stderr.contains("off_t"))
        XCTAssertThrowsError(try GDBMFile.open(path: offsets, mode: .read)) {
            XCTAssertEqual(
                $0 as? SASLDBError,
                .notADatabase(path: offsets, looksLike: "a GDBM file made on a system with 32-bit file offsets")
            )
        }

        // The original magic 0x13579ace is still readable, by gdbmtool and by us.
        let old = path("old.gdbm")
        var oldBytes = bytes
        oldBytes.replaceSubrange(0..<4, with: nativeBytes(0x1357_9ace))
        XCTAssertTrue(FileManager.default.createFile(atPath: old, contents: oldBytes))
        XCTAssertEqual(try detectDatabaseFormat(path: old), .sasldb(.gdbm))
        try GDBMFile.open(path: old, mode: .read).close()
    }

    func testBerkeleyDBHashFromSaslpasswd2() throws {
        let file = path("sasldb2")
        try expectSuccess(
            runTool(
                "saslpasswd2",
                ["-f", file, "-p", "-c", "-u", "Example.COM", "alice"],
                input: Data("secret\n".utf8),
                environment: ["SASL_CONF_PATH": directory]
            )
        )
        let signature = try inspectDatabaseFile(path: file)
        XCTAssertEqual(signature.format, .sasldb(.berkeleyDB))
        XCTAssertEqual(signature.summary, "Berkeley DB (Hash, version 9, native byte-order)")
    }

    func testBerkeleyDBHashOfOtherByteOrderIsStillASasldb() throws {
        let file = path("big.db")
        try expectSuccess(
            runTool("db5.3_load", ["-T", "-t", "hash", "-c", "db_lorder=4321", file], input: Data("k\nv\n".utf8))
        )
        let signature = try inspectDatabaseFile(path: file)
        XCTAssertEqual(signature.format, .sasldb(.berkeleyDB))
        XCTAssertEqual(signature.summary, "Berkeley DB (Hash, version 9, byte-swapped)")
    }

    func testOtherBerkeleyDBAccessMethods() throws {
        let expectations: [(type: String, extra: [String], what: String)] = [
            ("btree", [], "a Berkeley DB btree database, not the hash Cyrus uses"),
            ("recno", [], "a Berkeley DB btree database, not the hash Cyrus uses"),
            ("queue", ["-c", "re_len=8"], "a Berkeley DB queue database, not the hash Cyrus uses"),
        ]
        for expectation in expectations {
            let file = path("\(expectation.type).db")
            let input = expectation.type == "hash" || expectation.type == "btree" ? "k\nv\n" : "v\n"
            try expectSuccess(
                runTool(
                    "db5.3_load",
                    ["-T", "-t", expectation.type] + expectation.extra + [file],
                    input: Data(input.utf8)
                )
            )
            XCTAssertEqual(try detectDatabaseFormat(path: file), .foreign(expectation.what), expectation.type)
        }
    }

    func testEncryptedBerkeleyDBHashIsNotASasldb() throws {
        let file = path("encrypted.db")
        try expectSuccess(
            runTool("db5.3_load", ["-T", "-t", "hash", "-P", "password", file], input: Data("k\nv\n".utf8))
        )
        XCTAssertEqual(try detectDatabaseFormat(path: file), .foreign("an encrypted Berkeley DB hash database"))
    }

    func testSQLiteGzipTextAndDumps() throws {
        let sqlite = path("users.sqlite")
        try makeSQLiteFile(sqlite)
        XCTAssertEqual(try detectDatabaseFormat(path: sqlite), .foreign("an SQLite 3 database"))

        let text = path("passwords.txt")
        XCTAssertTrue(FileManager.default.createFile(atPath: text, contents: Data("alice:sécret\n\tbob:x\r\n".utf8)))
        XCTAssertEqual(try detectDatabaseFormat(path: text), .foreign("a text file"))

        let gzip = path("passwords.txt.gz")
        let compressed = try runTool("gzip", ["-c", text])
        try expectSuccess(compressed)
        XCTAssertTrue(FileManager.default.createFile(atPath: gzip, contents: compressed.stdout))
        XCTAssertEqual(try detectDatabaseFormat(path: gzip), .foreign("gzip-compressed data"))

        let gdbm = path("dump.gdbm")
        try expectSuccess(runTool("gdbmtool", ["-N", "-n", gdbm, "store", "key", "value"]))
        let gdbmDump = path("gdbm.dump")
        try expectSuccess(runTool("gdbmtool", ["-N", "-r", gdbm, "export", gdbmDump, "truncate", "ascii"]))
        XCTAssertEqual(
            try detectDatabaseFormat(path: gdbmDump),
            .foreign("a gdbm text dump, which gdbm_load turns back into a database")
        )

        let bdb = path("dump.db")
        try expectSuccess(runTool("db5.3_load", ["-T", "-t", "hash", bdb], input: Data("k\nv\n".utf8)))
        let bdbDump = path("bdb.dump")
        let dumped = try runTool("db5.3_dump", ["-p", bdb])
        try expectSuccess(dumped)
        XCTAssertTrue(FileManager.default.createFile(atPath: bdbDump, contents: dumped.stdout))
        XCTAssertEqual(
            try detectDatabaseFormat(path: bdbDump),
            .foreign("a Berkeley DB text dump, which db5.3_load turns back into a database")
        )
    }

    func testLMDBFromMdbLoad() throws {
        guard (try? toolPath("mdb_load")) != nil else {
            throw XCTSkip("mdb_load (Debian package lmdb-utils) is not installed; testLMDBHeader covers the layout")
        }
        let file = path("data.mdb")
        let input = "VERSION=3\nformat=print\ntype=btree\nHEADER=END\n k\n v\nDATA=END\n"
        try expectSuccess(runTool("mdb_load", ["-n", "-f", "/dev/stdin", file], input: Data(input.utf8)))
        XCTAssertEqual(try detectDatabaseFormat(path: file), .foreign(lmdbDescription))
    }

    // MARK: Special files and errors

    func testEmptyFile() throws {
        let file = path("empty")
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data()))
        XCTAssertEqual(try detectDatabaseFormat(path: file), .empty)
        XCTAssertEqual(DetectedFormat.empty.description, "an empty file")
    }

    func testMissingFileIsFileNotFound() {
        let file = path("missing")
        XCTAssertThrowsError(try detectDatabaseFormat(path: file)) {
            XCTAssertEqual($0 as? SASLDBError, .fileNotFound(path: file))
        }
    }

    func testSymbolicLinkIsRefusedNotFollowed() throws {
        let target = path("target.gdbm")
        try GDBMFile.open(path: target, mode: .create(permissions: 0o600)).close()
        let link = path("link.gdbm")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        XCTAssertThrowsError(try detectDatabaseFormat(path: link)) { error in
            guard case .insecureFile(let reported, _, _) = error as? SASLDBError else {
                return XCTFail("expected insecureFile, got \(error)")
            }
            XCTAssertEqual(reported, link)
        }
    }

    func testDirectoryAndFIFOAreForeignWithoutBlocking() throws {
        XCTAssertEqual(try detectDatabaseFormat(path: directory), .foreign("a directory"))
        let fifo = path("fifo")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        // With no writer on the other end, a plain open would wait for ever.
        XCTAssertEqual(try detectDatabaseFormat(path: fifo), .foreign("a named pipe (FIFO)"))
    }

    func testUnreadableFileIsPermissionDenied() throws {
        try XCTSkipIf(geteuid() == 0, "root bypasses file permissions")
        let file = path("secret")
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data("x".utf8)))
        XCTAssertEqual(chmod(file, 0), 0)
        XCTAssertThrowsError(try detectDatabaseFormat(path: file)) {
            XCTAssertEqual($0 as? SASLDBError, .permissionDenied(path: file, operation: "read"))
        }
    }

    // MARK: Synthetic headers

    func testBerkeleyDBHashVersionsOutsideWhat53Opens() {
        for (version, age) in [(UInt32(6), "an older"), (10, "a newer")] {
            let signature = identifyDatabaseBytes(berkeleyMetaPage(magic: 0x06_1561, version: version))
            XCTAssertEqual(
                signature.format,
                .foreign("a Berkeley DB hash database of version \(version), made by \(age) Berkeley DB than 5.3 reads")
            )
            XCTAssertEqual(signature.summary, "Berkeley DB (Hash, version \(version), native byte-order)")
        }
        for version: UInt32 in 7...9 {
            let bytes = berkeleyMetaPage(magic: 0x06_1561, version: version)
            XCTAssertEqual(identifyDatabaseBytes(bytes).format, .sasldb(.berkeleyDB), "version \(version)")
        }
    }

    func testBerkeleyDBHeapAndVersion185() {
        XCTAssertEqual(
            identifyDatabaseBytes(berkeleyMetaPage(magic: 0x07_4582, version: 1)).format,
            .foreign("a Berkeley DB heap database, not the hash Cyrus uses")
        )
        var old = nativeBytes(0x06_1561) + nativeBytes(2)
        old += [UInt8](repeating: 0, count: 56)
        XCTAssertEqual(
            identifyDatabaseBytes(old).format,
            .foreign("a Berkeley DB 1.85 hash database, which Berkeley DB 5.3 cannot read")
        )
    }

    func testLMDBHeader() {
        // First meta page: 64-bit page number, pad, flags, then the magic and version 1.
        var page = [UInt8](repeating: 0, count: 16) + littleEndian(0xBEEF_C0DE) + littleEndian(1)
        page += [UInt8](repeating: 0, count: 64)
        XCTAssertEqual(identifyDatabaseBytes(page).format, .foreign(lmdbDescription))
    }

    func testFixedPrefixesAndNDBMDirectory() {
        let cases: [([UInt8], String)] = [
            (Array("TDB file\n".utf8) + [0, 0], "a Samba TDB database"),
            (Array("GDBM".utf8) + [0, 0, 0, 1, 0, 0, 0, 0x17, 0, 0, 0, 0], ndbmDescription),
            ([0x42, 0x5a, 0x68, 0x39, 0x31], "bzip2-compressed data"),
            ([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00], "xz-compressed data"),
        ]
        for (bytes, what) in cases {
            XCTAssertEqual(identifyDatabaseBytes(bytes).format, .foreign(what))
        }
    }

    func testTextRules() {
        XCTAssertEqual(identifyDatabaseBytes(Array("plain words\n".utf8)).format, .foreign("a text file"))
        // A UTF-8 sequence cut by the read limit at the very end is still text.
        let cut = Array("caf".utf8) + [0xc3]
        XCTAssertEqual(identifyDatabaseBytes(cut).format, .foreign("a text file"))
        // Invalid UTF-8 and control bytes are binary.
        XCTAssertEqual(
            identifyDatabaseBytes([0x61, 0xff, 0xfe, 0x62, 0x63]).format,
            .foreign("unknown binary data (first bytes: 61 ff fe 62)")
        )
        XCTAssertEqual(
            identifyDatabaseBytes([0x01, 0x02, 0x03, 0x04, 0x05]).format,
            .foreign("unknown binary data (first bytes: 01 02 03 04)")
        )
        XCTAssertEqual(identifyDatabaseBytes([0x00]).format, .foreign("unknown binary data (first bytes: 00)"))
    }

    func testRealFileReadsOnlyTheFirst4096Bytes() throws {
        // A text file whose 4097th byte is binary is still judged by its first 4096 bytes.
        let file = path("long.txt")
        let bytes = [UInt8](repeating: 0x61, count: 4096) + [0, 1, 2]
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data(bytes)))
        XCTAssertEqual(try detectDatabaseFormat(path: file), .foreign("a text file"))
    }

    // MARK: Helpers

    private func expectSuccess(
        _ result: ToolResult,
        file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        XCTAssertEqual(result.status, 0, result.stderr, file: file, line: line)
    }
}

private let lmdbDescription = "an LMDB database, which is Cyrus's lmdb backend and not handled here"
private let ndbmDescription = "the .dir half of an NDBM database made by gdbm, whose data is in the .pag file"

/// A Berkeley DB metadata page prefix: LSN, page number, then magic and version in this machine's byte order.
private func berkeleyMetaPage(magic: UInt32, version: UInt32) -> [UInt8] {
    [UInt8](repeating: 0, count: 12) + nativeBytes(magic) + nativeBytes(version) + nativeBytes(4096)
        + [UInt8](repeating: 0, count: 40)
}

private func nativeBytes(_ value: UInt32) -> [UInt8] {
    withUnsafeBytes(of: value) { Array($0) }
}

private func littleEndian(_ value: UInt32) -> [UInt8] {
    withUnsafeBytes(of: value.littleEndian) { Array($0) }
}
