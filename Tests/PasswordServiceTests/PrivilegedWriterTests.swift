import Foundation
import SASLDB
import ServerKitTestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The real daemon started as root with `user =` an unprivileged account, a database in a directory only root may
/// write: poppassd changes go through the root password writer, which the daemon ends on SIGTERM.
final class PrivilegedWriterTests: XCTestCase {
    /// The four uids (real, effective, saved, file system) of a thread or process, from its `status` file.
    private func uids(_ statusPath: String) -> [uid_t] {
        let status = (try? String(contentsOfFile: statusPath, encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("Uid:") } ?? ""
        return line.dropFirst(4).split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { uid_t($0) }
    }

    /// The children of `parent`, from `/proc/*/status`.
    private func children(of parent: pid_t) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { pid_t($0) }.filter { pid in
            let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
            return status.split(separator: "\n").contains("PPid:\t\(parent)")
        }
    }

    private static let alice = UserID(authid: Array("alice".utf8), realm: Array("example.org".utf8))

    /// A temporary directory holding a `db` folder only root may write, removed at teardown, and the test user.
    private func makeDirectory() throws -> (path: String, user: (uid: uid_t, gid: gid_t)) {
        let user = try TestUser.create(for: self)
        let directory = NSTemporaryDirectory() + "privsep-" + UUID().uuidString
        XCTAssertEqual(mkdir(directory, 0o755), 0)
        XCTAssertEqual(mkdir(directory + "/db", 0o755), 0)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: directory) }
        return (directory, user)
    }

    /// A database at `path` holding alice, root's and readable by the group `gid` (`0640`).
    private func makeDatabase(_ path: String, gid: gid_t, alicePassword: String) throws -> CredentialStore {
        let store = CredentialStore(backend: FileBackend(path: path))
        try store.setPassword(Array(alicePassword.utf8), for: Self.alice)
        XCTAssertEqual(chown(path, 0, gid), 0)
        XCTAssertEqual(chmod(path, 0o640), 0)
        return store
    }

    /// The daemon serving PLAIN and poppassd on loopback as the test user, with `directory/db/database`.
    private static func configuration(directory: String, database: String) -> String {
        """
        hostname = mail.example.org
        default_realm = example.org
        submission_listen =
        plain_listen = 127.0.0.1:0
        require_tls = no
        mechanisms = PLAIN
        mechanisms_without_tls = PLAIN
        sasldb_path = \(directory)/db/\(database)
        sink = maildir:\(directory)/Maildir
        user = \(TestUser.name)
        poppassd_listen = 127.0.0.1:0
        passwd_socket =
        """
    }

    /// Waits for `text` in the file `path` (the daemon's log) and returns the whole file.
    private func waitForLog(_ path: String, containing text: String, process: Process) throws -> String {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let log = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            if log.contains(text) { return log }
            guard process.isRunning else { break }
            usleep(50_000)
        }
        throw LogWaitFailure(text: text, log: (try? String(contentsOfFile: path, encoding: .utf8)) ?? "")
    }

    private struct LogWaitFailure: Error, CustomStringConvertible {
        var text: String
        var log: String
        var description: String { "the daemon did not log \(text): \(log)" }
    }

    func testPasswordChangesReachARootOnlyDirectoryThroughTheRootWriterWhichEndsWithTheDaemon() throws {
        let binary = try builtExecutable("sasl-smtpd", override: "SASL_SMTPD_BIN")
        let (directory, user) = try makeDirectory()
        let database = directory + "/db/sasldb2"
        let store = try makeDatabase(database, gid: user.gid, alicePassword: "old horse battery")
        let alice = Self.alice
        var before = stat()
        XCTAssertEqual(stat(database, &before), 0)

        let configuration = directory + "/sasl-smtpd.conf"
        try Self.configuration(directory: directory, database: "sasldb2")
            .write(toFile: configuration, atomically: true, encoding: .utf8)
        let logPath = directory + "/log"
        XCTAssertTrue(FileManager.default.createFile(atPath: logPath, contents: nil))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["--config", configuration]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: logPath)
        try process.run()
        addTeardownBlock {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        let daemon = process.processIdentifier
        let log = try waitForLog(logPath, containing: "msg=ready", process: process)
        let poppassdLine = log.split(separator: "\n").first { $0.contains("msg=\"poppassd listening\"") } ?? ""
        let port = Int(poppassdLine.split(separator: ":").last?.prefix { $0.isNumber } ?? "") ?? 0
        XCTAssertGreaterThan(port, 0, log)
        XCTAssertFalse(log.contains("password changes will fail"), log)

        XCTAssertEqual(
            try RoundcubeDriver.save(port: port, user: "alice", current: "old horse battery", new: "new horse battery"),
            .success
        )
        XCTAssertTrue(try store.verify(password: Array("new horse battery".utf8), for: alice))
        var after = stat()
        XCTAssertEqual(stat(database, &after), 0)
        XCTAssertNotEqual(after.st_ino, before.st_ino, "a change replaces the file")
        XCTAssertEqual([after.st_uid, after.st_gid, after.st_mode & 0o7777], [0, user.gid, 0o640])
        // The writer checks the current password itself.
        guard
            case .error = try RoundcubeDriver.save(
                port: port,
                user: "alice",
                current: "not the password",
                new: "third horse battery"
            )
        else { return XCTFail("a wrong current password was accepted") }
        XCTAssertTrue(try store.verify(password: Array("new horse battery".utf8), for: alice))
        let audit = try waitForLog(logPath, containing: "reason=authentication-failed", process: process)
        XCTAssertTrue(audit.contains("logger=password-writer"), audit)
        XCTAssertTrue(audit.contains("password change user=alice@example.org poppassd"), audit)
        XCTAssertFalse(audit.contains("horse battery"), "no password in the log")

        let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(daemon)/task")) ?? []
        XCTAssertFalse(threads.isEmpty)
        for thread in threads {
            XCTAssertEqual(uids("/proc/\(daemon)/task/\(thread)/status"), Array(repeating: user.uid, count: 4), thread)
        }
        let writers = children(of: daemon)
        XCTAssertEqual(writers.count, 1)
        let writer = try XCTUnwrap(writers.first)
        XCTAssertEqual(uids("/proc/\(writer)/status"), [0, 0, 0, 0])
        let commandLine = (try? String(contentsOfFile: "/proc/\(writer)/cmdline", encoding: .utf8)) ?? ""
        XCTAssertTrue(commandLine.contains("password-writer"), commandLine)

        kill(daemon, SIGTERM)
        let stopBy = Date().addingTimeInterval(30)
        while process.isRunning && Date() < stopBy { usleep(20_000) }
        XCTAssertFalse(process.isRunning)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        XCTAssertEqual(kill(writer, 0), -1, "the writer is gone, reaped")
        XCTAssertEqual(errno, ESRCH)
        let final = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        XCTAssertTrue(final.contains("msg=\"password writer stopped\""), final)
    }

    /// The writer keeps the database, realm and policy it started with, and the daemon, no longer root, cannot start
    /// another: a reload that changes them is refused whole, naming the keys, so the daemon goes on reading the
    /// database the writer writes. A reload that leaves them alone goes through.
    func testAReloadThatChangesWhatTheWriterStartedWithIsRefusedNamingTheKeys() throws {
        let binary = try builtExecutable("sasl-smtpd", override: "SASL_SMTPD_BIN")
        let (directory, user) = try makeDirectory()
        _ = try makeDatabase(directory + "/db/sasldb2", gid: user.gid, alicePassword: "old horse battery")
        let other = try makeDatabase(directory + "/db/other", gid: user.gid, alicePassword: "other horse battery")
        func configuration(database: String, minimumLength: Int) -> String {
            Self.configuration(directory: directory, database: database) + "\npassword_min_length = \(minimumLength)\n"
        }
        let daemon = try DaemonProcess.start(
            binary,
            configuration: configuration(database: "sasldb2", minimumLength: 8),
            in: directory,
            environment: [:],
            test: self
        )
        func reload(_ text: String, count: Int) throws -> String {
            try text.write(toFile: directory + "/sasl-smtpd.conf", atomically: true, encoding: .utf8)
            kill(daemon.process.processIdentifier, SIGHUP)
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline {
                let log = (try? String(contentsOfFile: daemon.logPath, encoding: .utf8)) ?? ""
                let outcomes = log.split(separator: "\n").filter {
                    $0.contains("msg=reloaded") || $0.contains("msg=\"reload refused")
                }
                if outcomes.count == count, let last = outcomes.last { return String(last) }
                usleep(50_000)
            }
            throw LogWaitFailure(
                text: "a reload outcome",
                log: (try? String(contentsOfFile: daemon.logPath, encoding: .utf8)) ?? ""
            )
        }

        let unchanged = try reload(configuration(database: "sasldb2", minimumLength: 8), count: 1)
        XCTAssertTrue(unchanged.contains("msg=reloaded"), unchanged)
        let changed = try reload(configuration(database: "other", minimumLength: 12), count: 2)
        XCTAssertTrue(changed.contains("msg=\"reload refused, configuration kept\""), changed)
        XCTAssertTrue(changed.contains("keys=sasldb_path,password_min_length"), changed)
        XCTAssertTrue(changed.contains("restart sasl-smtpd"), changed)

        // The daemon still reads the database the writer writes: the changed password logs in.
        let port = daemon.smtpPort
        XCTAssertEqual(try SMTPPlainLogin.authenticate(port: port, user: "alice", password: "old horse battery"), 235)
        XCTAssertEqual(
            try RoundcubeDriver.save(
                port: daemon.poppassdPort,
                user: "alice",
                current: "old horse battery",
                new: "new horse battery"
            ),
            .success
        )
        XCTAssertEqual(try SMTPPlainLogin.authenticate(port: port, user: "alice", password: "new horse battery"), 235)
        XCTAssertTrue(try other.verify(password: Array("other horse battery".utf8), for: Self.alice))
        daemon.stop()
    }
}
