import Foundation
import XCTest

@testable import SASLDB

/// GDBMFile against the real gdbm tools: files we write must dump byte-identically with gdbmtool, files gdbmtool
/// writes must read back exactly, and gdbm's non-blocking lock must surface as `busy`.
final class GDBMFileTests: ScratchDirectoryTestCase {
    override class var scratchPrefix: String { "gdbm" }

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
        try checkBinaryValuesWithNULBytesRoundTrip(GDBMFile.self)
    }

    func testStoreReplacesAndDeleteReportsWhetherTheKeyExisted() throws {
        try checkStoreReplacesAndDeleteReportsWhetherTheKeyExisted(GDBMFile.self)
    }

    func testForEachRecordVisitsEveryRecordOnce() throws {
        try checkForEachRecordVisitsEveryRecordOnce(GDBMFile.self)
    }

    func testErrorThrownByBodyStopsIteration() throws {
        try checkErrorThrownByBodyStopsIteration(GDBMFile.self)
    }

    func testEmptyDatabaseIteratesNothing() throws {
        let db = try GDBMFile.open(path: path("none.gdbm"), mode: .create(permissions: 0o600))
        defer { db.close() }
        try db.forEachRecord { _, _ in XCTFail("no records expected") }
    }

    func testCreateAppliesPermissionsAndInitialisesAnExistingEmptyFile() throws {
        try checkCreateAppliesPermissions(GDBMFile.self)

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
        try checkUseAfterCloseThrowsInsteadOfCrashing(GDBMFile.self)
    }

    // MARK: Open errors

    func testMissingFileIsFileNotFound() throws {
        try checkMissingFileIsFileNotFound(GDBMFile.self)
    }

    func testSQLiteFileIsNotADatabase() throws {
        try checkSQLiteFileIsNotADatabase(GDBMFile.self)
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
        try checkEmptyFileIsNotADatabaseForReaders(GDBMFile.self)
    }

    func testTruncatedFileIsCorrupt() throws {
        let truncated = try makeTruncatedFile(GDBMFile.self)
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
        try checkUnreadableFileIsPermissionDenied(GDBMFile.self)
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

/// More spec §6 keys (alice's is shared).
private let bobKey = Array("bob\0mail.example.org\0userPassword".utf8)
private let bobPassword = Array("pässwörd".utf8)
