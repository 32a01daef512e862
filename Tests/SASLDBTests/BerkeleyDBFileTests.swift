import Foundation
import XCTest

@testable import SASLDB

/// BerkeleyDBFile against Debian's Cyrus tools and db5.3-util: files we write must be listed by `sasldblistusers2`
/// and dump byte-identically with `db5.3_dump`, and files `saslpasswd2` writes must read back exactly.
final class BerkeleyDBFileTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = try makeScratchDirectory(prefix: "bdb")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func path(_ name: String) -> String { "\(directory)/\(name)" }

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
        // An empty configuration directory keeps the host's saslpasswd.conf from adding other secrets.
        let result = try runTool(
            "saslpasswd2",
            ["-f", file, "-p", "-c", "-u", "Example.COM", "alice"],
            input: Data("secret\n".utf8),
            environment: ["SASL_CONF_PATH": directory]
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
        let created = try runTool(
            "saslpasswd2",
            ["-f", file, "-p", "-c", "-u", "Example.COM", "alice"],
            input: Data("secret\n".utf8),
            environment: ["SASL_CONF_PATH": directory]
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
        let file = path("binary.db")
        let values: [[UInt8]] = [
            [0], [0, 0, 0], [0x61, 0, 0x62], Array(0...255), [], [UInt8](repeating: 0xab, count: 8191),
        ]
        let db = try BerkeleyDBFile.open(path: file, mode: .create(permissions: 0o600))
        for (index, value) in values.enumerated() {
            try db.store(Array("u\(index)\0r\0p".utf8), value)
        }
        db.close()

        let reader = try BerkeleyDBFile.open(path: file, mode: .read)
        defer { reader.close() }
        for (index, value) in values.enumerated() {
            XCTAssertEqual(try reader.fetch(Array("u\(index)\0r\0p".utf8)), value, "value \(index)")
        }
        XCTAssertNil(try reader.fetch(Array("nobody\0r\0p".utf8)))
    }

    func testStoreReplacesAndDeleteReportsWhetherTheKeyExisted() throws {
        let db = try BerkeleyDBFile.open(path: path("rw.db"), mode: .create(permissions: 0o600))
        defer { db.close() }
        try db.store(aliceKey, Array("one".utf8))
        try db.store(aliceKey, Array("two".utf8))
        XCTAssertEqual(try db.fetch(aliceKey), Array("two".utf8))
        var count = 0
        try db.forEachRecord { _, _ in count += 1 }
        XCTAssertEqual(count, 1)
        XCTAssertTrue(try db.delete(aliceKey))
        XCTAssertNil(try db.fetch(aliceKey))
        XCTAssertFalse(try db.delete(aliceKey))
        XCTAssertFalse(try db.delete(Array("never\0stored\0key".utf8)))
    }

    func testForEachRecordVisitsEveryRecordOnce() throws {
        let db = try BerkeleyDBFile.open(path: path("many.db"), mode: .create(permissions: 0o600))
        defer { db.close() }
        for index in 0..<2000 {
            try db.store(Array("user\(index)\0realm\0userPassword".utf8), Array("pw\(index)".utf8))
        }
        var seen: [[UInt8]: [UInt8]] = [:]
        try db.forEachRecord { key, value in
            XCTAssertNil(seen.updateValue(value, forKey: key), "key visited twice")
        }
        XCTAssertEqual(seen.count, 2000)
        XCTAssertEqual(seen[Array("user1234\0realm\0userPassword".utf8)], Array("pw1234".utf8))
    }

    func testErrorThrownByBodyStopsIteration() throws {
        struct Stop: Error {}
        let db = try BerkeleyDBFile.open(path: path("stop.db"), mode: .create(permissions: 0o600))
        defer { db.close() }
        for index in 0..<10 {
            try db.store(Array("k\(index)".utf8), [1])
        }
        var visits = 0
        XCTAssertThrowsError(
            try db.forEachRecord { _, _ in
                visits += 1
                throw Stop()
            }
        ) { XCTAssertTrue($0 is Stop) }
        XCTAssertEqual(visits, 1)
        // The cursor was closed on the way out, so the handle still works.
        XCTAssertEqual(try db.fetch(Array("k3".utf8)), [1])
    }

    func testCreateAppliesPermissionsAndInitialisesAnExistingEmptyFile() throws {
        let fresh = path("fresh.db")
        let previous = umask(0o022)
        defer { umask(previous) }
        try BerkeleyDBFile.open(path: fresh, mode: .create(permissions: 0o640)).close()
        XCTAssertEqual(try permissions(of: fresh), 0o640)

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
        let db = try BerkeleyDBFile.open(path: path("closed.db"), mode: .create(permissions: 0o600))
        db.close()
        db.close()
        XCTAssertThrowsError(try db.fetch(aliceKey))
    }

    // MARK: Open errors

    func testMissingFileIsFileNotFound() throws {
        let missing = path("missing.db")
        for mode in [DatabaseOpenMode.read, .write] {
            XCTAssertThrowsError(try BerkeleyDBFile.open(path: missing, mode: mode)) {
                XCTAssertEqual($0 as? SASLDBError, .fileNotFound(path: missing))
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing))
    }

    func testSQLiteFileIsNotADatabase() throws {
        let file = path("sqlite.db")
        try makeSQLiteFile(file)
        XCTAssertThrowsError(try BerkeleyDBFile.open(path: file, mode: .read)) {
            XCTAssertEqual($0 as? SASLDBError, .notADatabase(path: file, looksLike: "an SQLite 3 database"))
        }
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
        let file = path("empty")
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data()))
        XCTAssertThrowsError(try BerkeleyDBFile.open(path: file, mode: .read)) {
            XCTAssertEqual($0 as? SASLDBError, .notADatabase(path: file, looksLike: "an empty file"))
        }
    }

    func testTruncatedFileIsCorruptAndLibdbMessageBecomesTheDetail() throws {
        let whole = path("whole.db")
        let db = try BerkeleyDBFile.open(path: whole, mode: .create(permissions: 0o600))
        for index in 0..<100 {
            try db.store(Array("u\(index)\0r\0userPassword".utf8), Array("pw".utf8))
        }
        db.close()
        let truncated = path("truncated.db")
        let prefix = try XCTUnwrap(FileManager.default.contents(atPath: whole)).prefix(100)
        XCTAssertTrue(FileManager.default.createFile(atPath: truncated, contents: Data(prefix)))

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
        try XCTSkipIf(geteuid() == 0, "root bypasses file permissions")
        let file = path("locked.db")
        try BerkeleyDBFile.open(path: file, mode: .create(permissions: 0o600)).close()
        XCTAssertEqual(chmod(file, 0), 0)
        XCTAssertThrowsError(try BerkeleyDBFile.open(path: file, mode: .read)) {
            XCTAssertEqual($0 as? SASLDBError, .permissionDenied(path: file, operation: "read"))
        }
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

private struct Pair: Hashable {
    var key: [UInt8]
    var value: [UInt8]
}

/// The spec §6 key of alice's userPassword.
private let aliceKey = Array("alice\0Example.COM\0userPassword".utf8)

private func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
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

private func makeScratchDirectory(prefix: String) throws -> String {
    var template = Array("/tmp/sasldb-\(prefix)-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else {
        throw NSError(domain: NSPOSIXErrorDomain, code: Int(errno))
    }
    return String(cString: made)
}

private func permissions(of file: String) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: file)
    return try XCTUnwrap(attributes[.posixPermissions] as? Int)
}

private func makeSQLiteFile(_ file: String) throws {
    let script = "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1])\nc.execute('create table t (a)')\nc.commit()\n"
    let result = try runTool("python3", ["-c", script, file])
    XCTAssertEqual(result.status, 0, result.stderr)
}

private func toolPath(_ name: String) throws -> String {
    for directory in ["/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin"] {
        let candidate = "\(directory)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
    }
    throw NSError(
        domain: "BerkeleyDBFileTests",
        code: 1,
        userInfo: [
            NSLocalizedDescriptionKey: "\(name) is not installed (Debian packages sasl2-bin, db5.3-util, python3)"
        ]
    )
}

private func runTool(
    _ name: String,
    _ arguments: [String],
    input: Data = Data(),
    environment: [String: String] = [:]
) throws -> (status: Int32, stdout: Data, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try toolPath(name))
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let stdin = Pipe()
    let stdout = Pipe()
    let stderr = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = stderr
    try process.run()
    stdin.fileHandleForWriting.write(input)
    stdin.fileHandleForWriting.closeFile()
    let output = stdout.fileHandleForReading.readDataToEndOfFile()
    let errors = stderr.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, output, String(decoding: errors, as: UTF8.self))
}
