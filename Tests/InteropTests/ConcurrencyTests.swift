import Foundation
import SASLDB
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Writers of ours serialise on the file and never lose each other's updates, readers never see an error or a torn
/// user while they write, and a writer that cannot get the lock in time fails cleanly without touching the file.
final class ConcurrencyTests: XCTestCase {
    private static let realm = "example.org"
    private static let usersPerWriter = 10
    private static let hammerSeconds = 8.0
    private static let maximumWritesPerWriter = 150
    private static let maximumReads = 2_000
    private static let staticPassword = "static-pw"

    func testBerkeleyDBTwoWritersAndAReaderLoseNoUpdateAndTheReaderNeverFails() throws {
        try TestSupport.require("sasldblistusers2")
        try hammer(format: .berkeleyDB)
    }

    func testGDBMTwoWritersAndAReaderLoseNoUpdateAndTheReaderNeverFails() throws {
        try TestSupport.require("gdbmtool")
        try hammer(format: .gdbm)
    }

    func testBerkeleyDBWriterBlockedPastLockTimeoutFailsBusyAndLeavesFileByteIdentical() throws {
        try blockedWriter(format: .berkeleyDB)
    }

    func testGDBMWriterBlockedPastLockTimeoutFailsBusyAndLeavesFileByteIdentical() throws {
        try blockedWriter(format: .gdbm)
    }

    // MARK: Two writers and a reader

    /// Writer A sets a0…a9 and writer B b0…b9 (one user per `add`, every fifth write an `import` of all ten), each
    /// password carrying the write's counter; a reader meanwhile cycles through `sasldb verify`, `sasldb list --json`,
    /// Cyrus's view (sasldblistusers2 / gdbmtool) and an in-process read that checks every user's secrets agree.
    private func hammer(format: DatabaseFormat) throws {
        let directory = try TestSupport.temporaryDirectory(for: self)
        let path = directory.appendingPathComponent("sasldb2").path
        let setup = directory.appendingPathComponent("setup").path
        var lines = ["static@\(Self.realm):\(Self.staticPassword)"]
        for prefix in ["a", "b"] {
            for index in 0..<Self.usersPerWriter { lines.append("\(prefix)\(index)@\(Self.realm):\(prefix)\(index)-0") }
        }
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: setup))
        let created = try TestSupport.run(
            TestSupport.sasldb,
            ["import", "-f", path, "--format", StoreChecker.formatArgument(format)] + StoreChecker.secretArguments + [
                setup
            ]
        )
        XCTAssertEqual(created.status, 0, created.stderrText)
        let initialRecords = try FileBackend(path: path).records()
        let userCount = 1 + 2 * Self.usersPerWriter
        XCTAssertEqual(initialRecords.count, userCount * StoreChecker.secretProperties.count)

        let state = HammerState()
        let deadline = StoreChecker.monotonicSeconds() + Self.hammerSeconds
        let group = DispatchGroup()
        for prefix in ["a", "b"] {
            let scratch = directory.appendingPathComponent("input-\(prefix)").path
            DispatchQueue.global().async(group: group) {
                Self.writer(prefix: prefix, path: path, scratch: scratch, deadline: deadline, state: state)
            }
        }
        let readerDone = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            Self.reader(path: path, format: format, keys: initialRecords, userCount: userCount, state: state)
            readerDone.signal()
        }
        let writersFinished = group.wait(timeout: .now() + Self.hammerSeconds + 60)
        state.stopReading()
        let readerFinished = readerDone.wait(timeout: .now() + 60)
        XCTAssertEqual(writersFinished, .success, "the writers did not finish")
        XCTAssertEqual(readerFinished, .success, "the reader did not finish")

        let snapshot = state.snapshot()
        print(
            "[concurrency] \(format): writer a \(snapshot.writes["a", default: 0]) writes, "
                + "writer b \(snapshot.writes["b", default: 0]) writes, reader \(snapshot.reads) reads, "
                + String(format: "slowest write %.0f ms", snapshot.slowestWrite * 1000)
        )
        XCTAssertEqual(snapshot.errors, [], "writers or reader reported errors")
        XCTAssertGreaterThan(snapshot.writes["a", default: 0], 10)
        XCTAssertGreaterThan(snapshot.writes["b", default: 0], 10)
        XCTAssertGreaterThan(snapshot.reads, 10)

        // No lost update: every user holds exactly the last password its writer wrote, in all three secrets.
        let records = try FileBackend(path: path).records()
        XCTAssertEqual(records.count, initialRecords.count)
        let users = StoreChecker.valuesByUser(records)
        var expected = ["static": Self.staticPassword]
        for prefix in ["a", "b"] {
            for index in 0..<Self.usersPerWriter { expected["\(prefix)\(index)"] = "\(prefix)\(index)-0" }
        }
        expected.merge(snapshot.lastPasswords) { $1 }
        XCTAssertEqual(expected.count, userCount)
        for (authid, password) in expected.sorted(by: { $0.key < $1.key }) {
            let user = UserID(authid: Array(authid.utf8), realm: Array(Self.realm.utf8))
            if case .failure(let problem) = StoreChecker.matchingCandidate(
                user: user,
                values: users[user] ?? [:],
                candidates: [password]
            ) {
                XCTFail("lost update: \(problem)")
            }
            let verified = try TestSupport.sasldb(["verify", "-f", path, "--stdin", "\(user)"], input: password + "\n")
            XCTAssertEqual(verified.status, 0, "\(user) does not verify with its last password \(password)")
        }
        XCTAssertNil(try StoreChecker.cyrusProblem(path: path, format: format, records: records))
        XCTAssertEqual(try StoreChecker.temporaryFiles(in: directory), [])
    }

    /// Sets the writer's users with increasing counters until the deadline or the write limit.
    private static func writer(prefix: String, path: String, scratch: String, deadline: Double, state: HammerState) {
        for counter in 1...maximumWritesPerWriter {
            guard StoreChecker.monotonicSeconds() < deadline else { return }
            var written: [String: String] = [:]
            let arguments: [String]
            var input: Data?
            if counter % 5 == 0 {
                for index in 0..<usersPerWriter { written["\(prefix)\(index)"] = "\(prefix)\(index)-\(counter)" }
                let lines = written.map { "\($0.key)@\(realm):\($0.value)\n" }.joined()
                do {
                    try Data(lines.utf8).write(to: URL(fileURLWithPath: scratch))
                } catch {
                    state.report("writer \(prefix) write \(counter): cannot write its input: \(error)")
                    return
                }
                arguments = ["import", "-f", path] + StoreChecker.secretArguments + [scratch]
            } else {
                let authid = "\(prefix)\(counter % usersPerWriter)"
                written[authid] = "\(authid)-\(counter)"
                input = Data("\(authid)-\(counter)\n".utf8)
                arguments = ["add", "-f", path] + StoreChecker.secretArguments + ["--stdin", "\(authid)@\(realm)"]
            }
            let started = StoreChecker.monotonicSeconds()
            do {
                let result = try TestSupport.run(TestSupport.sasldb, arguments, input: input, timeout: 30)
                guard result.status == 0 else {
                    state.report(
                        "writer \(prefix) write \(counter) (\(arguments[0])): exit \(result.status): \(result.stderrText)"
                    )
                    return
                }
            } catch {
                state.report("writer \(prefix) write \(counter): \(error)")
                return
            }
            state.wrote(prefix: prefix, passwords: written, seconds: StoreChecker.monotonicSeconds() - started)
        }
    }

    /// Reads the file in four ways, in turn, until told to stop or the read limit.
    private static func reader(path: String, format: DatabaseFormat, keys: [Record], userCount: Int, state: HammerState)
    {
        for read in 0..<maximumReads {
            guard state.keepReading else { return }
            let problem: String?
            do {
                switch read % 4 {
                case 0: problem = try verifyStaticUser(path: path)
                case 1: problem = try listAsJSON(path: path, userCount: userCount)
                case 2: problem = try StoreChecker.cyrusProblem(path: path, format: format, records: keys)
                default: problem = try readInProcess(path: path, expectedRecords: keys.count)
                }
            } catch {
                problem = "\(error)"
            }
            if let problem {
                state.report("reader read \(read): \(problem)")
                return
            }
            state.didRead()
        }
    }

    private static func verifyStaticUser(path: String) throws -> String? {
        let result = try TestSupport.sasldb(
            ["verify", "-f", path, "--stdin", "static@\(realm)"],
            input: staticPassword + "\n"
        )
        return result.status == 0 ? nil : "sasldb verify exited \(result.status): \(result.stderrText)"
    }

    private static func listAsJSON(path: String, userCount: Int) throws -> String? {
        let result = try TestSupport.sasldb(["list", "-f", path, "--json"])
        guard result.status == 0 else { return "sasldb list exited \(result.status): \(result.stderrText)" }
        guard let entries = try JSONSerialization.jsonObject(with: result.stdout) as? [[String: Any]] else {
            return "sasldb list printed no JSON array: \(result.stdoutText)"
        }
        let expected = StoreChecker.secretProperties.map(\.description).sorted()
        guard entries.count == userCount,
            entries.allSatisfy({ (($0["properties"] as? [String]) ?? []).sorted() == expected })
        else {
            return "sasldb list showed \(entries.count) users or incomplete ones: \(result.stdoutText)"
        }
        return nil
    }

    /// Every user's three secrets must come from one password: the one in its `userPassword`.
    private static func readInProcess(path: String, expectedRecords: Int) throws -> String? {
        let records = try FileBackend(path: path).records()
        guard records.count == expectedRecords else { return "read \(records.count) of \(expectedRecords) records" }
        for (user, values) in StoreChecker.valuesByUser(records) {
            let plaintext = String(decoding: values[.userPassword] ?? [], as: UTF8.self)
            if case .failure(let problem) = StoreChecker.matchingCandidate(
                user: user,
                values: values,
                candidates: [plaintext]
            ) {
                return "torn user: \(problem)"
            }
        }
        return nil
    }

    // MARK: Lock timeout

    /// While the test holds the writers' lock (an OFD write lock on the file), `add` and `import` with
    /// `--lock-timeout 1` wait about a second, fail with exit 75 (EX_TEMPFAIL) and "database busy", and leave the file
    /// byte-identical and unreplaced; readers are not blocked; once the lock is released the same write succeeds.
    private func blockedWriter(format: DatabaseFormat) throws {
        let directory = try TestSupport.temporaryDirectory(for: self)
        let path = directory.appendingPathComponent("sasldb2").path
        let input = directory.appendingPathComponent("input").path
        try Data("held@\(Self.realm):old-pw\nother@\(Self.realm):other-pw\n".utf8).write(
            to: URL(fileURLWithPath: input)
        )
        let created = try TestSupport.run(
            TestSupport.sasldb,
            ["import", "-f", path, "--format", StoreChecker.formatArgument(format)] + StoreChecker.secretArguments + [
                input
            ]
        )
        XCTAssertEqual(created.status, 0, created.stderrText)
        try Data("held@\(Self.realm):import-pw\n".utf8).write(to: URL(fileURLWithPath: input))
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        var statusBefore = stat()
        XCTAssertEqual(stat(path, &statusBefore), 0)

        let fd = open(path, O_RDWR | O_CLOEXEC)
        XCTAssertGreaterThanOrEqual(fd, 0, "cannot open the file: errno \(errno)")
        guard fd >= 0 else { return }
        var closed = false
        defer { if !closed { close(fd) } }
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = 0
        lock.l_len = 0
        lock.l_pid = 0
        let setOFDLock: Int32 = 37  // F_OFD_SETLK
        XCTAssertEqual(fcntl(fd, setOFDLock, &lock), 0, "cannot take the OFD lock: errno \(errno)")

        let add =
            ["add", "-f", path, "--lock-timeout", "1"] + StoreChecker.secretArguments + [
                "--stdin", "held@\(Self.realm)",
            ]
        let bulk = ["import", "-f", path, "--lock-timeout", "1"] + StoreChecker.secretArguments + [input]
        for arguments in [add, bulk] {
            let started = StoreChecker.monotonicSeconds()
            let result = try TestSupport.run(TestSupport.sasldb, arguments, input: Data("new-pw\n".utf8), timeout: 30)
            let waited = StoreChecker.monotonicSeconds() - started
            XCTAssertEqual(result.status, 75, "\(arguments[0]): \(result.stderrText)")
            XCTAssertTrue(result.stderrText.contains("database busy"), "\(arguments[0]): \(result.stderrText)")
            XCTAssertGreaterThanOrEqual(waited, 1.0, "\(arguments[0]) gave up before its timeout")
            XCTAssertLessThan(waited, 8.0, "\(arguments[0]) ignored --lock-timeout 1")
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), before, "\(arguments[0]) changed the file")
            var statusAfter = stat()
            XCTAssertEqual(stat(path, &statusAfter), 0)
            XCTAssertEqual(statusAfter.st_ino, statusBefore.st_ino, "\(arguments[0]) replaced the file")
            XCTAssertEqual(try StoreChecker.temporaryFiles(in: directory), [], "\(arguments[0]) left a temporary copy")
        }
        let reader = try TestSupport.sasldb(["verify", "-f", path, "--stdin", "held@\(Self.realm)"], input: "old-pw\n")
        XCTAssertEqual(
            reader.status,
            0,
            "while the lock was held the old password stopped verifying: \(reader.stderrText)"
        )

        close(fd)
        closed = true
        let retried = try TestSupport.run(TestSupport.sasldb, add, input: Data("new-pw\n".utf8), timeout: 30)
        XCTAssertEqual(retried.status, 0, "the write failed after the lock was released: \(retried.stderrText)")
        let verified = try TestSupport.sasldb(
            ["verify", "-f", path, "--stdin", "held@\(Self.realm)"],
            input: "new-pw\n"
        )
        XCTAssertEqual(verified.status, 0)
        XCTAssertEqual(try StoreChecker.temporaryFiles(in: directory), [])
    }
}

/// What the writer and reader threads report, behind a lock.
private final class HammerState: @unchecked Sendable {
    struct Snapshot {
        var errors: [String]
        var writes: [String: Int]
        var reads: Int
        var lastPasswords: [String: String]
        var slowestWrite: Double
    }

    private let lock = NSLock()
    private var errors: [String] = []
    private var writes: [String: Int] = [:]
    private var reads = 0
    private var lastPasswords: [String: String] = [:]
    private var slowestWrite = 0.0
    private var reading = true

    var keepReading: Bool { lock.withLock { reading } }

    func stopReading() { lock.withLock { reading = false } }

    func report(_ error: String) { lock.withLock { errors.append(error) } }

    func didRead() { lock.withLock { reads += 1 } }

    func wrote(prefix: String, passwords: [String: String], seconds: Double) {
        lock.withLock {
            writes[prefix, default: 0] += 1
            lastPasswords.merge(passwords) { $1 }
            slowestWrite = max(slowestWrite, seconds)
        }
    }

    func snapshot() -> Snapshot {
        lock.withLock {
            Snapshot(
                errors: errors,
                writes: writes,
                reads: reads,
                lastPasswords: lastPasswords,
                slowestWrite: slowestWrite
            )
        }
    }
}
