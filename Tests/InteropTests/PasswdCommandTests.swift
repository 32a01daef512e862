import Foundation
import XCTest

/// `sasldb passwd`: the terminal dialogue, three lines of standard input, and the poppassd dialogue with the
/// password service (a fake one here, recording what it receives).
final class PasswdCommandTests: XCTestCase {
    private let oldPassword = "Old-passphrase-1"
    private let newPassword = "Fresh-passphrase-2"
    private var directory: URL!
    private var database: String { directory.appendingPathComponent("sasldb2").path }
    /// No site configuration (a path that does not exist), so the machine's own cannot change the outcome.
    private var environment: [String: String] {
        ["SASLDB_CONFIG": directory.appendingPathComponent("none.conf").path]
    }

    private static var scripts: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Interop")
    }

    override func setUpWithError() throws {
        directory = try TestSupport.temporaryDirectory(for: self)
        let added = try TestSupport.sasldb(
            ["add", "-f", database, "--stdin", "alice@example.org"],
            input: oldPassword + "\n",
            environment: environment
        )
        XCTAssertEqual(added.status, 0, added.stderrText)
    }

    // MARK: Terminal

    func testTerminalDialogueChangesThePasswordWithoutEchoingIt() throws {
        let result = try onTerminal(answers: [oldPassword, newPassword, newPassword])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("Changing the password of alice@example.org"), result.output)
        for prompt in ["Current password: ", "New password: ", "New password again: "] {
            XCTAssertTrue(result.output.contains(prompt), "no \(prompt) in \(result.output)")
        }
        XCTAssertFalse(result.output.contains(oldPassword), "the current password was echoed: \(result.output)")
        XCTAssertFalse(result.output.contains(newPassword), "the new password was echoed: \(result.output)")
        XCTAssertTrue(result.output.contains("password changed for alice@example.org"), result.output)
        try assertVerifies(newPassword, true)
        try assertVerifies(oldPassword, false)
    }

    func testTerminalMismatchChangesNothing() throws {
        let before = try Data(contentsOf: URL(fileURLWithPath: database))
        let result = try onTerminal(answers: [oldPassword, newPassword, newPassword + "x"])
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertTrue(result.output.contains("sasldb: the two new passwords do not match; nothing was changed"))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: database)), before)
    }

    func testTerminalWrongCurrentPasswordIsRefused() throws {
        let before = try Data(contentsOf: URL(fileURLWithPath: database))
        let result = try onTerminal(answers: ["not-the-password", newPassword, newPassword])
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertTrue(result.output.contains("sasldb: the current password is not right"), result.output)
        XCTAssertFalse(result.output.contains("not-the-password"), result.output)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: database)), before)
    }

    func testTerminalPolicyRefusalsGiveTheRule() throws {
        let before = try Data(contentsOf: URL(fileURLWithPath: database))
        let short = try onTerminal(answers: [oldPassword, "Sh0rt!", "Sh0rt!"])
        XCTAssertEqual(short.status, 1, short.output)
        XCTAssertTrue(short.output.contains("the new password is too short: use at least 8 characters"), short.output)
        let common = try onTerminal(answers: [oldPassword, "QwertyUiop", "QwertyUiop"])
        XCTAssertEqual(common.status, 1, common.output)
        XCTAssertTrue(common.output.contains("the new password is too common"), common.output)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: database)), before)
    }

    func testSiteMinimumLengthApplies() throws {
        let config = directory.appendingPathComponent("sasldb.conf")
        try Data("password_min_length: 24\n".utf8).write(to: config)
        let result = try TestSupport.sasldb(
            ["passwd", "-f", database, "alice@example.org"],
            input: "\(oldPassword)\n\(newPassword)\n\(newPassword)\n",
            environment: ["SASLDB_CONFIG": config.path]
        )
        XCTAssertEqual(result.status, 1, result.stderrText)
        XCTAssertEqual(result.stderrText, "sasldb: the new password is too short: use at least 24 characters\n")
    }

    // MARK: Standard input

    func testStandardInputTakesCurrentNewAndNewAgain() throws {
        let result = try passwd(
            ["-f", database, "alice@example.org"],
            "\(oldPassword)\n\(newPassword)\n\(newPassword)\n"
        )
        XCTAssertEqual(result.status, 0, result.stderrText)
        XCTAssertEqual(result.stdoutText, "password changed for alice@example.org\n")
        XCTAssertEqual(result.stderrText, "")
        try assertVerifies(newPassword, true)
        try assertVerifies(oldPassword, false)
    }

    func testStandardInputMismatchAndShortInputChangeNothing() throws {
        let before = try Data(contentsOf: URL(fileURLWithPath: database))
        let mismatch = try passwd(["-f", database, "alice@example.org"], "\(oldPassword)\n\(newPassword)\nother\n")
        XCTAssertEqual(mismatch.status, 1, mismatch.stderrText)
        XCTAssertEqual(mismatch.stderrText, "sasldb: the two new passwords do not match; nothing was changed\n")
        let short = try passwd(["-f", database, "alice@example.org"], "\(oldPassword)\n\(newPassword)\n")
        XCTAssertEqual(short.status, 65, short.stderrText)
        XCTAssertTrue(short.stderrText.contains("standard input ended before a password was read"))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: database)), before)
    }

    // MARK: Password service

    func testServiceGetsThePoppassdDialogue() throws {
        let service = try FakePoppassd(directory: directory)
        let result = try passwd(
            ["--socket", service.socket, "alice@example.org"],
            "\(oldPassword)\n\(newPassword)\n\(newPassword)\n"
        )
        let record = try service.finish()
        XCTAssertEqual(result.status, 0, result.stderrText)
        XCTAssertEqual(result.stdoutText, "password changed for alice@example.org\n")
        XCTAssertEqual(
            record.lines,
            ["user alice@example.org", "pass \(oldPassword)", "newpass \(newPassword)", "quit"]
        )
        XCTAssertTrue(record.crlf, "every command must end in CRLF")
    }

    func testServiceRefusalIsShownAsSentAndLFRepliesAreAccepted() throws {
        let reason = "the new password is too common: it is on a list of passwords attackers try first"
        let service = try FakePoppassd(directory: directory, options: ["--lf", "--newpass-reply", "500 \(reason)"])
        let result = try passwd(
            ["--socket", service.socket, "alice@example.org"],
            "\(oldPassword)\n\(newPassword)\n\(newPassword)\n"
        )
        let record = try service.finish()
        XCTAssertEqual(result.status, 1, result.stderrText)
        XCTAssertEqual(result.stderrText, "sasldb: \(reason)\n")
        XCTAssertEqual(record.lines.last, "quit")
    }

    func testMissingServiceIsNamed() throws {
        let socket = directory.appendingPathComponent("absent.sock").path
        let result = try passwd(
            ["--socket", socket, "alice@example.org"],
            "\(oldPassword)\n\(newPassword)\n\(newPassword)\n"
        )
        XCTAssertEqual(result.status, 69, result.stderrText)
        XCTAssertEqual(
            result.stderrText,
            "sasldb: cannot change the password: the password service of sasl-smtpd is not running at \(socket) "
                + "(No such file or directory)\n"
        )
    }

    func testSilentServiceTimesOut() throws {
        let service = try FakePoppassd(directory: directory, options: ["--silent"])
        let started = Date()
        let result = try passwd(
            ["--socket", service.socket, "--timeout", "1", "alice@example.org"],
            "\(oldPassword)\n\(newPassword)\n\(newPassword)\n"
        )
        _ = try service.finish()
        XCTAssertEqual(result.status, 75, result.stderrText)
        XCTAssertTrue(result.stderrText.contains("did not answer within 1 seconds"), result.stderrText)
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
    }

    func testUserWhoCannotWriteTheDatabaseAsksTheService() throws {
        try XCTSkipUnless(geteuid() == 0 && TestSupport.has("setpriv"), "needs root to run as another user")
        let account = try TestAccount.ensure(for: self)
        XCTAssertEqual(chmod(directory.path, 0o755), 0)
        let service = try FakePoppassd(directory: directory)
        let config = directory.appendingPathComponent("sasldb.conf")
        try Data("sasldb_path: \(database)\npasswd_socket: \(service.socket)\n".utf8).write(to: config)
        let result = try TestSupport.run(
            "setpriv",
            [
                "--reuid=\(account.uid)", "--regid=\(account.gid)", "--clear-groups", TestSupport.sasldb, "passwd",
                "-u", "example.org",
            ],
            input: Data("\(oldPassword)\n\(newPassword)\n\(newPassword)\n".utf8),
            environment: ["SASLDB_CONFIG": config.path]
        )
        let record = try service.finish()
        XCTAssertEqual(result.status, 0, result.stderrText)
        XCTAssertEqual(record.peerUID, Int(account.uid))
        XCTAssertEqual(record.lines.first, "user \(TestAccount.name)@example.org")
        // Without the service: the message says both why the file was not used and where the service was looked for.
        let stopped = try TestSupport.run(
            "setpriv",
            ["--reuid=\(account.uid)", "--regid=\(account.gid)", "--clear-groups", TestSupport.sasldb, "passwd"],
            input: Data("\(oldPassword)\n\(newPassword)\n\(newPassword)\n".utf8),
            environment: ["SASLDB_CONFIG": config.path]
        )
        XCTAssertEqual(stopped.status, 69, stopped.stderrText)
        XCTAssertTrue(
            stopped.stderrText.contains("the database is not writable for you (\(database): Permission denied)"),
            stopped.stderrText
        )
        XCTAssertTrue(stopped.stderrText.contains("not running at \(service.socket)"), stopped.stderrText)
    }

    // MARK: Helpers

    private func passwd(_ arguments: [String], _ input: String) throws -> CommandResult {
        try TestSupport.sasldb(["passwd"] + arguments, input: input, environment: environment)
    }

    private func onTerminal(answers: [String]) throws -> (status: Int?, output: String) {
        try TestSupport.require("python3")
        let script = Self.scripts.appendingPathComponent("tty-run.py").path
        let arguments =
            answers.flatMap { ["--answer", $0] } + [
                "--", TestSupport.sasldb, "passwd", "-f", database, "alice@example.org",
            ]
        let result = try TestSupport.run("python3", [script] + arguments, environment: environment, timeout: 60)
        XCTAssertEqual(result.status, 0, "tty-run.py: \(result.stderrText)")
        let object = try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any]
        return (object?["status"] as? Int, object?["output"] as? String ?? "")
    }

    private func assertVerifies(
        _ password: String,
        _ expected: Bool,
        file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        let result = try TestSupport.sasldb(
            ["verify", "-f", database, "--stdin", "alice@example.org"],
            input: password + "\n",
            environment: environment
        )
        XCTAssertEqual(result.stdoutText, expected ? "OK\n" : "NO\n", file: file, line: line)
    }
}

/// Tests/Interop/fake-poppassd.py serving one dialogue on a socket in the test's folder.
struct FakePoppassd {
    /// What the fake service received.
    struct Record {
        var lines: [String]
        var crlf: Bool
        var peerUID: Int?
    }

    let socket: String
    private let record: URL
    private let process: Process

    init(directory: URL, options: [String] = []) throws {
        try TestSupport.require("python3")
        socket = directory.appendingPathComponent("passwd.sock").path
        record = directory.appendingPathComponent("poppassd.json")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Interop/fake-poppassd.py").path
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            ["python3", script, "--socket", socket, "--record", record.path, "--timeout", "20"] + options
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while !FileManager.default.fileExists(atPath: socket) {
            guard Date() < deadline, process.isRunning else {
                process.terminate()
                throw TestSupport.TimeoutError(command: "fake-poppassd.py did not start listening")
            }
            usleep(10_000)
        }
    }

    /// Waits (bounded) for the service to end and returns what it received.
    func finish() throws -> Record {
        let deadline = Date().addingTimeInterval(25)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: record)) as? [String: Any] ?? [:]
        return Record(
            lines: object["lines"] as? [String] ?? [],
            crlf: object["crlf"] as? Bool ?? false,
            peerUID: object["peer_uid"] as? Int
        )
    }
}

/// An unprivileged account for tests that run as a user: made with useradd when missing, removed afterwards.
enum TestAccount {
    static let name = "sasldbtest"

    static func ensure(for testCase: XCTestCase) throws -> (uid: uid_t, gid: gid_t) {
        if getpwnam(name) == nil {
            let made = try TestSupport.run(
                "useradd",
                ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name]
            )
            guard made.status == 0 else { throw XCTSkip("useradd \(name) failed: \(made.stderrText)") }
            testCase.addTeardownBlock { _ = try? TestSupport.run("userdel", [name]) }
        }
        guard let entry = getpwnam(name) else { throw XCTSkip("no account \(name)") }
        return (entry.pointee.pw_uid, entry.pointee.pw_gid)
    }
}
