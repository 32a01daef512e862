import Foundation
import XCTest

@testable import SASLDB

/// BerkeleyDBFile against Debian's Cyrus tools and db5.3-util: files we write must be listed by `sasldblistusers2`
/// and dump byte-identically with `db5.3_dump`, and files `saslpasswd2` writes must read back exactly.
final class BerkeleyDBFileTests: ScratchDirectoryTestCase {
    override class var scratchPrefix: String { "bdb" }

    // MARK: Interoperability with Cyrus and db5.3-util

    func testFileWeWriteIsListedBySasldblistusers2() throws {
        let file = path("sasldb2")
        let db = try BerkeleyDBFile.open(path: file, mode: .create(permissions: 0o600))
        try db.store(aliceKey, Array("secret".utf8))
        try db.sync()
        db.close()

        let result = try runTool("sasldblistusers2", ["-f", file])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(String(decoding: result.stdout, as: UTF8.self), "alice@Example.COM: userPassword\n")
        XCTAssertEqual(result.stderr, "")
    }

    func testKeysAndValuesWeWriteAreByteIdenticalInDbDump() throws {
        let file = path("dump.db")
        let records: [([UInt8], [UInt8])] = [
            (aliceKey, Array("secret".utf8)),
            (Array("bob\0mail.example.org\0userPassword".utf8), Array("pässwörd".utf8)),
            (Array("carol\0EXAMPLE.ORG\0cmusaslsecretCRAM-MD5".utf8), [0, 1, 2, 0xff, 0, 0x80]),
            (Array("dave\0vm\0empty".utf8), []),
        ]
        let db = try BerkeleyDBFile.open(path: file, mode: .create(permissions: 0o600))
        for (key, value) in records {
            try db.store(key, value)
        }
        try db.sync()
        db.close()

        // Without -p, db_dump prints every byte in hex, so this compares exact bytes.
        let dumped = try dbDump(file)
        XCTAssertEqual(
            Set(dumped.map { Pair(key: $0.0, value: $0.1) }),
            Set(records.map { Pair(key: $0.0, value: $0.1) })
        )
        XCTAssertTrue(dumped.contains { hex($0.0) == "616c696365004578616d706c652e434f4d007573657250617373776f7264" })

        // The printable form shows the key as Cyrus's own transcripts do.
        let printable = try runTool("db5.3_dump", ["-p", file])
        XCTAssertEqual(printable.status, 0, printable.stderr)
        let lines = String(decoding: printable.stdout, as: UTF8.self).split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.contains("type=hash"))
        XCTAssertTrue(lines.contains(" alice\\00Example.COM\\00userPassword"))
        XCTAssertTrue(lines.contains(" secret"))
    }

    func testReadsFileWrittenBySaslpasswd2() throws {
        let file = path("cyrus.db")
        let result = try saslpasswd2(
            file,
            authid: "alice",
            realm: "Example.COM",
            password: "secret",
            configDirectory: directory
        )
        XCTAssertEqual(result.status, 0, result.stderr)

        let db = try BerkeleyDBFile.open(path: file, mode: .read)
        defer { db.close() }
        XCTAssertEqual(try db.fetch(aliceKey), Array("secret".utf8))
        var seen: [Pair] = []
        try db.forEachRecord { key, value in seen.append(Pair(key: key, value: value)) }
        XCTAssertEqual(seen, [Pair(key: aliceKey, value: Array("secret".utf8))])
    }

    func testFileWeUpdateStaysReadableByCyrus() throws {
        let file = path("update.db")
        let created = try saslpasswd2(
            file,
            authid: "alice",
            realm: "Example.COM",
            password: "secret",
            configDirectory: directory
        )
        XCTAssertEqual(created.status, 0, created.stderr)

        let db = try BerkeleyDBFile.open(path: file, mode: .write)
        try db.store(Array("bob\0Example.COM\0userPassword".utf8), Array("hunter2".utf8))
        XCTAssertTrue(try db.delete(aliceKey))
        try db.sync()
        db.close()

        let listed = try runTool("sasldblistusers2", ["-f", file])
        XCTAssertEqual(String(decoding: listed.stdout, as: UTF8.self), "bob@Example.COM: userPassword\n")
    }

    func testReadsBigEndianFileFromDbLoad() throws {
        let file = path("bigendian.db")
        let load = try runTool(
            "db5.3_load",
            ["-T", "-t", "hash", "-c", "db_lorder=4321", file],
            input: Data("alice\\00Example.COM\\00userPassword\nsecret\n".utf8)
        )
        XCTAssertEqual(load.status, 0, load.stderr)
        let db = try BerkeleyDBFile.open(path: file, mode: .read)
        defer { db.close() }
        XCTAssertEqual(try db.fetch(aliceKey), Array("secret".utf8))
    }

    // MARK: Records

    func testBinaryValuesWithNULBytesRoundTrip() throws {
        try checkBinaryValuesWithNULBytesRoundTrip(BerkeleyDBFile.self)
    }

    func testStoreReplacesAndDeleteReportsWhetherTheKeyExisted() throws {
        try checkStoreReplacesAndDeleteReportsWhetherTheKeyExisted(BerkeleyDBFile.self)
    }

    func testForEachRecordVisitsEveryRecordOnce() throws {
        try checkForEachRecordVisitsEveryRecordOnce(BerkeleyDBFile.self)
    }

    func testErrorThrownByBodyStopsIteration() throws {
        try checkErrorThrownByBodyStopsIteration(BerkeleyDBFile.self)
    }

    func testCreateAppliesPermissionsAndInitialisesAnExistingEmptyFile() throws {
        try checkCreateAppliesPermissions(BerkeleyDBFile.self)

        // Writers create their private copy as an empty file first and then open it in create mode.
        let empty = path("empty.db")
        XCTAssertTrue(FileManager.default.createFile(atPath: empty, contents: Data()))
        let db = try BerkeleyDBFile.open(path: empty, mode: .create(permissions: 0o600))
        try db.store(aliceKey, Array("secret".utf8))
        try db.sync()
        db.close()
        let listed = try runTool("sasldblistusers2", ["-f", empty])
        XCTAssertEqual(String(decoding: listed.stdout, as: UTF8.self), "alice@Example.COM: userPassword\n")
    }

    func testTuningForBulkWritesProducesAFileCyrusReads() throws {
        let file = path("bulk.db")
        let db = try BerkeleyDBFile.open(path: file, mode: .create(permissions: 0o600), tuning: .bulkWrite)
        for index in 0..<3000 {
            try db.store(Array("u\(index)\0r\0userPassword".utf8), Array("password-\(index)".utf8))
        }
        try db.sync()
        db.close()
        let listed = try runTool("sasldblistusers2", ["-f", file])
        XCTAssertEqual(listed.status, 0, listed.stderr)
        XCTAssertEqual(String(decoding: listed.stdout, as: UTF8.self).split(separator: "\n").count, 3000)
    }

    func testUseAfterCloseThrowsInsteadOfCrashing() throws {
        try checkUseAfterCloseThrowsInsteadOfCrashing(BerkeleyDBFile.self)
    }

    // MARK: Open errors

    func testMissingFileIsFileNotFound() throws {
        try checkMissingFileIsFileNotFound(BerkeleyDBFile.self)
    }

    func testSQLiteFileIsNotADatabase() throws {
        try checkSQLiteFileIsNotADatabase(BerkeleyDBFile.self)
    }

    func testBtreeAndGDBMFilesAreNotADatabase() throws {
        let btree = path("btree.db")
        let load = try runTool("db5.3_load", ["-T", "-t", "btree", btree], input: Data("key\nvalue\n".utf8))
        XCTAssertEqual(load.status, 0, load.stderr)
        XCTAssertThrowsError(try BerkeleyDBFile.open(path: btree, mode: .read)) {
            XCTAssertEqual(
                $0 as? SASLDBError,
                .notADatabase(path: btree, looksLike: "a Berkeley DB btree database, not the hash Cyrus uses")
            )
        }

        let gdbm = path("file.gdbm")
        try GDBMFile.open(path: gdbm, mode: .create(permissions: 0o600)).close()
        XCTAssertThrowsError(try BerkeleyDBFile.open(path: gdbm, mode: .write)) {
            XCTAssertEqual($0 as? SASLDBError, .notADatabase(path: gdbm, looksLike: "a GDBM database"))
        }
    }

    func testEmptyFileIsNotADatabaseForReaders() throws {
        try checkEmptyFileIsNotADatabaseForReaders(BerkeleyDBFile.self)
    }

    func testTruncatedFileIsCorruptAndLibdbMessageBecomesTheDetail() throws {
        let truncated = try makeTruncatedFile(BerkeleyDBFile.self)

        let stderrText = try capturingStandardError {
            XCTAssertThrowsError(try BerkeleyDBFile.open(path: truncated, mode: .read)) { error in
                guard case .corrupt(let reported, let detail) = error as? SASLDBError else {
                    return XCTFail("expected corrupt, got \(error)")
                }
                XCTAssertEqual(reported, truncated)
                XCTAssertFalse(detail.isEmpty)
            }
        }
        XCTAssertEqual(stderrText, "", "libdb wrote to stderr")
    }

    func testLibdbPrintsNothingOnStderrForAForeignFile() throws {
        let file = path("text")
        XCTAssertTrue(
            FileManager.default.createFile(atPath: file, contents: Data(String(repeating: "x", count: 9000).utf8))
        )
        let stderrText = try capturingStandardError {
            XCTAssertThrowsError(try BerkeleyDBFile.open(path: file, mode: .read)) {
                XCTAssertEqual($0 as? SASLDBError, .notADatabase(path: file, looksLike: "a text file"))
            }
        }
        XCTAssertEqual(stderrText, "", "libdb wrote to stderr")
    }

    func testUnreadableFileIsPermissionDenied() throws {
        try checkUnreadableFileIsPermissionDenied(BerkeleyDBFile.self)
    }

    func testDispatcherOpensBothFormats() throws {
        for format in DatabaseFormat.allCases {
            let file = path("dispatch-\(format.rawValue)")
            let writer = try openDatabaseFile(
                format: format,
                path: file,
                mode: .create(permissions: 0o600),
                lock: false
            )
            try writer.store(aliceKey, Array("secret".utf8))
            try writer.sync()
            writer.close()
            XCTAssertEqual(try detectDatabaseFormat(path: file), .sasldb(format))
            let reader = try openDatabaseFile(format: format, path: file, mode: .read, lock: true, bulkWrite: true)
            XCTAssertEqual(try reader.fetch(aliceKey), Array("secret".utf8))
            reader.close()
        }
    }

    // MARK: Helpers

    /// Every record of a Berkeley DB file as printed by `db5.3_dump` in its hex (non-printable) format.
    private func dbDump(_ file: String) throws -> [([UInt8], [UInt8])] {
        let result = try runTool("db5.3_dump", [file])
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = String(decoding: result.stdout, as: UTF8.self).split(
            separator: "\n",
            omittingEmptySubsequences: false
        )
        guard let start = lines.firstIndex(of: "HEADER=END"), let end = lines.firstIndex(of: "DATA=END") else {
            XCTFail("unexpected db_dump output")
            return []
        }
        let items = try lines[(start + 1)..<end].map { line -> [UInt8] in
            guard line.hasPrefix(" ") else { throw NSError(domain: "dump", code: 1) }
            return try parseHex(String(line.dropFirst()))
        }
        XCTAssertEqual(items.count % 2, 0)
        return stride(from: 0, to: items.count - 1, by: 2).map { (items[$0], items[$0 + 1]) }
    }

    /// Runs `body` with file descriptor 2 pointed at a scratch file and returns what was written there.
    private func capturingStandardError(_ body: () throws -> Void) throws -> String {
        let capture = path("stderr-\(UUID().uuidString)")
        let captureFD = open(capture, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        XCTAssertGreaterThanOrEqual(captureFD, 0)
        fflush(nil)
        let saved = dup(2)
        dup2(captureFD, 2)
        defer {
            fflush(nil)
            dup2(saved, 2)
            close(saved)
            close(captureFD)
        }
        try body()
        fflush(nil)
        return try String(contentsOfFile: capture, encoding: .utf8)
    }
}

private func parseHex(_ text: String) throws -> [UInt8] {
    let digits = Array(text.utf8)
    guard digits.count % 2 == 0 else { throw NSError(domain: "hex", code: 1) }
    return try stride(from: 0, to: digits.count, by: 2).map { index in
        guard let byte = UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16) else {
            throw NSError(domain: "hex", code: 2)
        }
        return byte
    }
}
