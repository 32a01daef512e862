import Foundation
import XCTest

@testable import SASLDB

/// A test case that gets a fresh scratch directory under /tmp for every test and removes it afterwards.
class ScratchDirectoryTestCase: XCTestCase {
    /// Distinguishes the scratch directories of different test classes.
    class var scratchPrefix: String { "test" }

    private(set) var directory = ""

    override func setUpWithError() throws {
        directory = try makeScratchDirectory(prefix: Self.scratchPrefix)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func path(_ name: String) -> String { "\(directory)/\(name)" }
}

/// A database backend the shared tests below can open by type.
protocol TestableBackend: DatabaseFile {
    /// The extension the tests give this backend's files.
    static var fileExtension: String { get }

    /// Opens `path` with the backend's default lock and tuning.
    static func openForTest(path: String, mode: DatabaseOpenMode) throws -> Self
}

extension GDBMFile: TestableBackend {
    static var fileExtension: String { "gdbm" }

    static func openForTest(path: String, mode: DatabaseOpenMode) throws -> GDBMFile {
        try open(path: path, mode: mode)
    }
}

extension BerkeleyDBFile: TestableBackend {
    static var fileExtension: String { "db" }

    static func openForTest(path: String, mode: DatabaseOpenMode) throws -> BerkeleyDBFile {
        try open(path: path, mode: mode)
    }
}

// MARK: Test bodies shared by both backends

extension ScratchDirectoryTestCase {
    private func backendPath<Backend: TestableBackend>(_: Backend.Type, _ name: String) -> String {
        path("\(name).\(Backend.fileExtension)")
    }

    func checkBinaryValuesWithNULBytesRoundTrip<Backend: TestableBackend>(_ backend: Backend.Type) throws {
        let file = backendPath(backend, "binary")
        let values: [[UInt8]] = [
            [0], [0, 0, 0], [0x61, 0, 0x62], Array(0...255), [], [UInt8](repeating: 0xab, count: 8191),
        ]
        let db = try Backend.openForTest(path: file, mode: .create(permissions: 0o600))
        for (index, value) in values.enumerated() {
            try db.store(Array("u\(index)\0r\0p".utf8), value)
        }
        db.close()

        let reader = try Backend.openForTest(path: file, mode: .read)
        defer { reader.close() }
        for (index, value) in values.enumerated() {
            XCTAssertEqual(try reader.fetch(Array("u\(index)\0r\0p".utf8)), value, "value \(index)")
        }
        XCTAssertNil(try reader.fetch(Array("nobody\0r\0p".utf8)))
    }

    func checkStoreReplacesAndDeleteReportsWhetherTheKeyExisted<Backend: TestableBackend>(
        _ backend: Backend.Type
    ) throws {
        let db = try Backend.openForTest(path: backendPath(backend, "rw"), mode: .create(permissions: 0o600))
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

    func checkForEachRecordVisitsEveryRecordOnce<Backend: TestableBackend>(_ backend: Backend.Type) throws {
        let db = try Backend.openForTest(path: backendPath(backend, "many"), mode: .create(permissions: 0o600))
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

    func checkErrorThrownByBodyStopsIteration<Backend: TestableBackend>(_ backend: Backend.Type) throws {
        let db = try Backend.openForTest(path: backendPath(backend, "stop"), mode: .create(permissions: 0o600))
        defer { db.close() }
        for index in 0..<10 {
            try db.store(Array("k\(index)".utf8), [1])
        }
        var visits = 0
        XCTAssertThrowsError(
            try db.forEachRecord { _, _ in
                visits += 1
                throw StopIteration()
            }
        ) { XCTAssertTrue($0 is StopIteration) }
        XCTAssertEqual(visits, 1)
        // The cursor was closed on the way out, so the handle still works.
        XCTAssertEqual(try db.fetch(Array("k3".utf8)), [1])
    }

    /// Creates a fresh file with `permissions` 0o640 under umask 022 and checks they were applied exactly.
    func checkCreateAppliesPermissions<Backend: TestableBackend>(_ backend: Backend.Type) throws {
        let fresh = backendPath(backend, "fresh")
        let previous = umask(0o022)
        defer { umask(previous) }
        try Backend.openForTest(path: fresh, mode: .create(permissions: 0o640)).close()
        XCTAssertEqual(try permissions(of: fresh), 0o640)
    }

    func checkUseAfterCloseThrowsInsteadOfCrashing<Backend: TestableBackend>(_ backend: Backend.Type) throws {
        let db = try Backend.openForTest(path: backendPath(backend, "closed"), mode: .create(permissions: 0o600))
        db.close()
        db.close()
        XCTAssertThrowsError(try db.fetch(aliceKey))
    }

    func checkMissingFileIsFileNotFound<Backend: TestableBackend>(_ backend: Backend.Type) throws {
        let missing = backendPath(backend, "missing")
        for mode in [DatabaseOpenMode.read, .write] {
            XCTAssertThrowsError(try Backend.openForTest(path: missing, mode: mode)) {
                XCTAssertEqual($0 as? SASLDBError, .fileNotFound(path: missing))
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing))
    }

    func checkSQLiteFileIsNotADatabase<Backend: TestableBackend>(_: Backend.Type) throws {
        let file = path("sqlite.db")
        try makeSQLiteFile(file)
        XCTAssertThrowsError(try Backend.openForTest(path: file, mode: .read)) {
            XCTAssertEqual($0 as? SASLDBError, .notADatabase(path: file, looksLike: "an SQLite 3 database"))
        }
    }

    func checkEmptyFileIsNotADatabaseForReaders<Backend: TestableBackend>(_: Backend.Type) throws {
        let file = path("empty")
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data()))
        XCTAssertThrowsError(try Backend.openForTest(path: file, mode: .read)) {
            XCTAssertEqual($0 as? SASLDBError, .notADatabase(path: file, looksLike: "an empty file"))
        }
    }

    func checkUnreadableFileIsPermissionDenied<Backend: TestableBackend>(_ backend: Backend.Type) throws {
        try XCTSkipIf(geteuid() == 0, "root bypasses file permissions")
        let file = backendPath(backend, "locked")
        try Backend.openForTest(path: file, mode: .create(permissions: 0o600)).close()
        XCTAssertEqual(chmod(file, 0), 0)
        XCTAssertThrowsError(try Backend.openForTest(path: file, mode: .read)) {
            XCTAssertEqual($0 as? SASLDBError, .permissionDenied(path: file, operation: "read"))
        }
    }

    /// Writes 100 records to a whole file and returns the path of a copy cut after its first 100 bytes.
    func makeTruncatedFile<Backend: TestableBackend>(_ backend: Backend.Type) throws -> String {
        let whole = backendPath(backend, "whole")
        let db = try Backend.openForTest(path: whole, mode: .create(permissions: 0o600))
        for index in 0..<100 {
            try db.store(Array("u\(index)\0r\0userPassword".utf8), Array("pw".utf8))
        }
        db.close()
        let truncated = backendPath(backend, "truncated")
        let prefix = try XCTUnwrap(FileManager.default.contents(atPath: whole)).prefix(100)
        XCTAssertTrue(FileManager.default.createFile(atPath: truncated, contents: Data(prefix)))
        return truncated
    }
}

// MARK: Records and files

/// The error the iteration test throws from its body.
private struct StopIteration: Error {}

/// One record, comparable as a whole.
struct Pair: Hashable {
    var key: [UInt8]
    var value: [UInt8]
}

/// The spec §6 key of alice's userPassword.
let aliceKey = Array("alice\0Example.COM\0userPassword".utf8)

func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}

func makeScratchDirectory(prefix: String) throws -> String {
    var template = Array("/tmp/sasldb-\(prefix)-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else {
        throw NSError(domain: NSPOSIXErrorDomain, code: Int(errno))
    }
    return String(cString: made)
}

func permissions(of file: String) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: file)
    return try XCTUnwrap(attributes[.posixPermissions] as? Int)
}

/// Makes an SQLite 3 database with python3's sqlite3 module.
func makeSQLiteFile(_ file: String) throws {
    let script = "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1])\nc.execute('create table t (a)')\nc.commit()\n"
    let result = try runTool("python3", ["-c", script, file])
    XCTAssertEqual(result.status, 0, result.stderr)
}

// MARK: External tools

/// What a finished tool printed and how it exited.
typealias ToolResult = (status: Int32, stdout: Data, stderr: String)

func toolPath(_ name: String) throws -> String {
    for directory in ["/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin"] {
        let candidate = "\(directory)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
    }
    throw NSError(
        domain: "SASLDBTests",
        code: 1,
        userInfo: [
            NSLocalizedDescriptionKey:
                "\(name) is not installed (Debian packages sasl2-bin, db5.3-util, gdbmtool, python3)"
        ]
    )
}

/// Sets the password of `authid` in `realm` with Cyrus's `saslpasswd2`, creating `file` (Berkeley DB) if needed.
/// `configDirectory` must be empty: pointing SASL_CONF_PATH at it keeps the host's saslpasswd.conf from adding other
/// secrets.
func saslpasswd2(
    _ file: String,
    authid: String,
    realm: String,
    password: String,
    configDirectory: String
) throws -> ToolResult {
    try runTool(
        "saslpasswd2",
        ["-f", file, "-p", "-c", "-u", realm, authid],
        input: Data("\(password)\n".utf8),
        environment: ["SASL_CONF_PATH": configDirectory]
    )
}

/// Runs the installed tool `name`, feeding it `input` and adding `environment` to this process's environment.
func runTool(
    _ name: String,
    _ arguments: [String],
    input: Data = Data(),
    environment: [String: String] = [:]
) throws -> ToolResult {
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
