import Foundation
import XCTest

@testable import SASLDB

/// GDBMFile against the real gdbm tools: files we write must dump byte-identically with gdbmtool, files gdbmtool
/// writes must read back exactly, and gdbm's non-blocking lock must surface as `busy`.
final class GDBMFileTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = try makeScratchDirectory(prefix: "gdbm")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func path(_ name: String) -> String { "\(directory)/\(name)" }

    // MARK: Interoperability with gdbmtool

    func testKeysAndValuesWeWriteAreByteIdenticalInGdbmtoolExport() throws {
        let file = path("ours.gdbm")
        let records: [([UInt8], [UInt8])] = [
            (aliceKey, Array("secret".utf8)),
            (bobKey, bobPassword),
            (Array("carol\0EXAMPLE.ORG\0cmusaslsecretCRAM-MD5".utf8), [0, 1, 2, 0xff, 0, 0x80]),
        ]
        let db = try GDBMFile.open(path: file, mode: .create(permissions: 0o600))
        for (key, value) in records {
            try db.store(key, value)
        }
        try db.sync()
        db.close()

        let exported = try gdbmtoolExport(file)
        XCTAssertEqual(exported.count, records.count)
        XCTAssertEqual(
            Set(exported.map { Pair(key: $0.0, value: $0.1) }),
            Set(records.map { Pair(key: $0.0, value: $0.1) })
        )
        // The key from spec §6, byte for byte: no terminator, no length prefix.
        XCTAssertTrue(exported.contains { hex($0.0) == "616c696365004578616d706c652e434f4d007573657250617373776f7264" })
    }

    func testReadsFileStoredByGdbmtool() throws {
        let file = path("tool.gdbm")
        // gdbmtool's structured keys write each `stringz` field with its NUL, giving the exact sasldb key shape.
        let script = """
            define key { stringz authid, stringz realm, string property }
            store { alice, Example.COM, userPassword } secret
            store { bob, mail.example.org, userPassword } other
            """
        let result = try runTool("gdbmtool", ["-N", "-n", file], input: Data((script + "\n").utf8))
        XCTAssertEqual(result.status, 0, result.stderr)

        let db = try GDBMFile.open(path: file, mode: .read)
        defer { db.close() }
        XCTAssertEqual(try db.fetch(aliceKey), Array("secret".utf8))
        var seen: [Pair] = []
        try db.forEachRecord { key, value in seen.append(Pair(key: key, value: value)) }
        XCTAssertEqual(
            Set(seen),
            [
                Pair(key: aliceKey, value: Array("secret".utf8)),
                Pair(key: Array("bob\0mail.example.org\0userPassword".utf8), value: Array("other".utf8)),
            ]
        )
    }

    // MARK: Records

    func testBinaryValuesWithNULBytesRoundTrip() throws {
        let file = path("binary.gdbm")
        let values: [[UInt8]] = [
            [0], [0, 0, 0], [0x61, 0, 0x62], Array(0...255), [], [UInt8](repeating: 0xab, count: 8191),
        ]
        let db = try GDBMFile.open(path: file, mode: .create(permissions: 0o600))
        for (index, value) in values.enumerated() {
            try db.store(Array("u\(index)\0r\0p".utf8), value)
        }
        db.close()

        let reader = try GDBMFile.open(path: file, mode: .read)
        defer { reader.close() }
        for (index, value) in values.enumerated() {
            XCTAssertEqual(try reader.fetch(Array("u\(index)\0r\0p".utf8)), value, "value \(index)")
        }
        XCTAssertNil(try reader.fetch(Array("nobody\0r\0p".utf8)))
    }

    func testStoreReplacesAndDeleteReportsWhetherTheKeyExisted() throws {
        let db = try GDBMFile.open(path: path("rw.gdbm"), mode: .create(permissions: 0o600))
        defer { db.close() }
        try db.store(aliceKey, Array("one".utf8))
        try db.store(aliceKey, Array("two".utf8))
        XCTAssertEqual(try db.fetch(aliceKey), Array("two".utf8))
        XCTAssertTrue(try db.delete(aliceKey))
        XCTAssertNil(try db.fetch(aliceKey))
        XCTAssertFalse(try db.delete(aliceKey))
        XCTAssertFalse(try db.delete(Array("never\0stored\0key".utf8)))
    }

    func testForEachRecordVisitsEveryRecordOnce() throws {
        let db = try GDBMFile.open(path: path("many.gdbm"), mode: .create(permissions: 0o600))
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
        let db = try GDBMFile.open(path: path("stop.gdbm"), mode: .create(permissions: 0o600))
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
    }

    func testEmptyDatabaseIteratesNothing() throws {
        let db = try GDBMFile.open(path: path("none.gdbm"), mode: .create(permissions: 0o600))
        defer { db.close() }
        try db.forEachRecord { _, _ in XCTFail("no records expected") }
    }

    func testCreateAppliesPermissionsAndInitialisesAnExistingEmptyFile() throws {
        let fresh = path("fresh.gdbm")
        let previous = umask(0o022)
        defer { umask(previous) }
        try GDBMFile.open(path: fresh, mode: .create(permissions: 0o640)).close()
        XCTAssertEqual(try permissions(of: fresh), 0o640)

        // Writers create their private copy as an empty file first and then open it in create mode.
        let empty = path("empty.gdbm")
        XCTAssertTrue(FileManager.default.createFile(atPath: empty, contents: Data()))
        let db = try GDBMFile.open(path: empty, mode: .create(permissions: 0o600), lock: false)
        try db.store(aliceKey, Array("secret".utf8))
        db.close()
        XCTAssertEqual(try gdbmtoolExport(empty).first?.1, Array("secret".utf8))
    }

    func testTuningForBulkWritesProducesAReadableFile() throws {
        let file = path("bulk.gdbm")
        let db = try GDBMFile.open(path: file, mode: .create(permissions: 0o600), lock: false, tuning: .bulkWrite)
        for index in 0..<3000 {
            try db.store(Array("u\(index)\0r\0userPassword".utf8), Array("password-\(index)".utf8))
        }
        try db.sync()
        db.close()
        let exported = try gdbmtoolExport(file)
        XCTAssertEqual(exported.count, 3000)
    }

    func testUseAfterCloseThrowsInsteadOfCrashing() throws {
        let db = try GDBMFile.open(path: path("closed.gdbm"), mode: .create(permissions: 0o600))
        db.close()
        db.close()
        XCTAssertThrowsError(try db.fetch(aliceKey))
    }

    // MARK: Open errors

    func testMissingFileIsFileNotFound() throws {
        let missing = path("missing.gdbm")
        for mode in [DatabaseOpenMode.read, .write] {
            XCTAssertThrowsError(try GDBMFile.open(path: missing, mode: mode)) {
                XCTAssertEqual($0 as? SASLDBError, .fileNotFound(path: missing))
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing))
    }

    func testSQLiteFileIsNotADatabase() throws {
        let file = path("sqlite.db")
        try makeSQLiteFile(file)
        XCTAssertThrowsError(try GDBMFile.open(path: file, mode: .read)) {
            XCTAssertEqual($0 as? SASLDBError, .notADatabase(path: file, looksLike: "an SQLite 3 database"))
        }
    }

    func testBerkeleyDBFileIsNotADatabaseAndNamedAsSuch() throws {
        let file = path("bdb.db")
        let db = try BerkeleyDBFile.open(path: file, mode: .create(permissions: 0o600))
        try db.store(aliceKey, Array("secret".utf8))
        db.close()
        XCTAssertThrowsError(try GDBMFile.open(path: file, mode: .read)) {
            XCTAssertEqual($0 as? SASLDBError, .notADatabase(path: file, looksLike: "a Berkeley DB hash database"))
        }
    }

    func testEmptyFileIsNotADatabaseForReaders() throws {
        let file = path("empty")
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data()))
        XCTAssertThrowsError(try GDBMFile.open(path: file, mode: .read)) {
            XCTAssertEqual($0 as? SASLDBError, .notADatabase(path: file, looksLike: "an empty file"))
        }
    }

    func testTruncatedFileIsCorrupt() throws {
        let whole = path("whole.gdbm")
        let db = try GDBMFile.open(path: whole, mode: .create(permissions: 0o600))
        for index in 0..<100 {
            try db.store(Array("u\(index)\0r\0userPassword".utf8), Array("pw".utf8))
        }
        db.close()
        let truncated = path("truncated.gdbm")
        let prefix = try XCTUnwrap(FileManager.default.contents(atPath: whole)).prefix(100)
        XCTAssertTrue(FileManager.default.createFile(atPath: truncated, contents: Data(prefix)))

        XCTAssertThrowsError(try GDBMFile.open(path: truncated, mode: .read)) { error in
            guard case .corrupt(let reported, _) = error as? SASLDBError else {
                return XCTFail("expected corrupt, got \(error)")
            }
            XCTAssertEqual(reported, truncated)
        }
    }

    func testByteSwappedFileIsNotADatabase() throws {
        let file = path("swapped.gdbm")
        try GDBMFile.open(path: file, mode: .create(permissions: 0o600)).close()
        var bytes = try XCTUnwrap(FileManager.default.contents(atPath: file))
        bytes.replaceSubrange(0..<4, with: bytes[0..<4].reversed())
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: bytes))
        XCTAssertThrowsError(try GDBMFile.open(path: file, mode: .read)) {
            XCTAssertEqual(
                $0 as? SASLDBError,
                .notADatabase(path: file, looksLike: "a GDBM file of another byte order")
            )
        }
    }

    func testUnreadableFileIsPermissionDenied() throws {
        try XCTSkipIf(geteuid() == 0, "root bypasses file permissions")
        let file = path("locked.gdbm")
        try GDBMFile.open(path: file, mode: .create(permissions: 0o600)).close()
        XCTAssertEqual(chmod(file, 0), 0)
        XCTAssertThrowsError(try GDBMFile.open(path: file, mode: .read)) {
            XCTAssertEqual($0 as? SASLDBError, .permissionDenied(path: file, operation: "read"))
        }
    }

    // MARK: Locking

    func testReaderCollidingWithWriterInThisProcessIsBusy() throws {
        let file = path("locked.gdbm")
        let writer = try GDBMFile.open(path: file, mode: .create(permissions: 0o600))
        try writer.store(aliceKey, Array("secret".utf8))
        try writer.sync()
        // gdbm locks with flock(), which conflicts between two open file descriptions even inside one process.
        XCTAssertThrowsError(try GDBMFile.open(path: file, mode: .read)) {
            XCTAssertEqual($0 as? SASLDBError, .busy(path: file, waitedMilliseconds: 0))
        }
        XCTAssertThrowsError(try GDBMFile.open(path: file, mode: .write)) {
            XCTAssertEqual($0 as? SASLDBError, .busy(path: file, waitedMilliseconds: 0))
        }
        // Without the lock the reader gets in (the mode our writers use on their private copies).
        let unlocked = try GDBMFile.open(path: file, mode: .read, lock: false)
        XCTAssertEqual(try unlocked.fetch(aliceKey), Array("secret".utf8))
        unlocked.close()
        writer.close()

        let reader = try GDBMFile.open(path: file, mode: .read)
        XCTAssertEqual(try reader.fetch(aliceKey), Array("secret".utf8))
        // Readers share the lock, so a second reader gets in too, but a writer does not.
        let second = try GDBMFile.open(path: file, mode: .read)
        second.close()
        XCTAssertThrowsError(try GDBMFile.open(path: file, mode: .write)) {
            XCTAssertEqual($0 as? SASLDBError, .busy(path: file, waitedMilliseconds: 0))
        }
        reader.close()
    }

    func testReaderCollidingWithGdbmtoolWriterIsBusy() throws {
        let file = path("shared.gdbm")
        let db = try GDBMFile.open(path: file, mode: .create(permissions: 0o600))
        try db.store(aliceKey, Array("secret".utf8))
        db.close()

        // gdbmtool opens the file as a writer on its first command and keeps it open until its input ends.
        let tool = Process()
        tool.executableURL = URL(fileURLWithPath: try toolPath("gdbmtool"))
        tool.arguments = ["-N", file]
        let input = Pipe()
        tool.standardInput = input
        tool.standardOutput = FileHandle.nullDevice
        tool.standardError = FileHandle.nullDevice
        try tool.run()
        defer {
            if tool.isRunning {
                tool.terminate()
            }
            tool.waitUntilExit()
        }
        input.fileHandleForWriting.write(Data("count\n".utf8))

        // Poll until gdbmtool has opened the file; from then on every locked open must be refused at once.
        var sawBusy = false
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, !sawBusy {
            do {
                try GDBMFile.open(path: file, mode: .read).close()
                usleep(20_000)
            } catch let error as SASLDBError {
                XCTAssertEqual(error, .busy(path: file, waitedMilliseconds: 0))
                sawBusy = true
            }
        }
        XCTAssertTrue(sawBusy, "gdbmtool never held the writer lock")

        input.fileHandleForWriting.closeFile()
        tool.waitUntilExit()
        XCTAssertEqual(tool.terminationStatus, 0)
        let reader = try GDBMFile.open(path: file, mode: .read)
        XCTAssertEqual(try reader.fetch(aliceKey), Array("secret".utf8))
        reader.close()
    }

    // MARK: Helpers

    /// Every record of a gdbm file as exported by `gdbmtool export … ascii`, which base64-encodes the exact bytes.
    private func gdbmtoolExport(_ file: String) throws -> [([UInt8], [UInt8])] {
        let dump = path("export-\(UUID().uuidString).txt")
        let result = try runTool("gdbmtool", ["-N", "-r", file, "export", dump, "truncate", "ascii"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let text = try String(contentsOfFile: dump, encoding: .utf8)
        var items: [[UInt8]] = []
        var current: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("#") {
                if let encoded = current {
                    items.append(try decodeBase64(encoded))
                    current = nil
                }
                if line.hasPrefix("#:len=") {
                    current = ""
                }
            } else if current != nil {
                current? += line
            }
        }
        XCTAssertEqual(items.count % 2, 0, "odd number of items in the export")
        return stride(from: 0, to: items.count - 1, by: 2).map { (items[$0], items[$0 + 1]) }
    }

    private func decodeBase64(_ text: String) throws -> [UInt8] {
        [UInt8](try XCTUnwrap(Data(base64Encoded: text), "bad base64 in export: \(text)"))
    }
}

private struct Pair: Hashable {
    var key: [UInt8]
    var value: [UInt8]
}

/// Spec §6 keys.
private let aliceKey = Array("alice\0Example.COM\0userPassword".utf8)
private let bobKey = Array("bob\0mail.example.org\0userPassword".utf8)
private let bobPassword = Array("pässwörd".utf8)

private func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
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
        domain: "GDBMFileTests",
        code: 1,
        userInfo: [NSLocalizedDescriptionKey: "\(name) is not installed (Debian packages gdbmtool, python3)"]
    )
}

private func runTool(
    _ name: String,
    _ arguments: [String],
    input: Data = Data()
) throws -> (status: Int32, stdout: Data, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try toolPath(name))
    process.arguments = arguments
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
