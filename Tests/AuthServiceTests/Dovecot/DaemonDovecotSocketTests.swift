import Foundation
import ServerKitTestSupport
import XCTest

/// The socket served by the bundled daemon under its configuration (the guide's lines): bound as root with the
/// configured owner, group and mode before the daemon drops to `nobody`, answering `doveadm auth test`, taking a password changed by
/// `sasldb passwd` at the next request, and reloading on SIGHUP.
final class DaemonDovecotSocketTests: XCTestCase {
    private static let login = "alice@example.org"

    private var directory = ""

    override func setUpWithError() throws {
        directory = try makeTestDirectory(for: self)
    }

    private func doveadm(_ password: String) async throws -> ProcessRunner.Result {
        guard let doveadm = ProcessRunner.which("doveadm") else {
            try missingPeer("doveadm (Debian package dovecot-core) is not installed")
        }
        return await ProcessRunner.runInBackground(
            doveadm,
            [
                "auth", "test", "-a", directory + "/run/auth", "-x", "service=smtp", "-x", "secured", Self.login,
                password,
            ],
            timeout: 60
        )
    }

    /// Runs `sasldb` with `arguments` and `input`, failing on a non-zero status.
    private func sasldb(_ arguments: [String], input: String) throws {
        let sasldb = try builtExecutable("sasldb", override: "SASLDB_BIN")
        let result = ProcessRunner.run(sasldb, arguments, input: Data(input.utf8), timeout: 60)
        XCTAssertEqual(result.status, 0, result.standardOutput + result.standardError)
    }

    func testCheckConfigRefusesAListenerOffLoopbackAModeOpenToOthersAndAnUnknownMechanism() throws {
        let daemon = try builtExecutable("sasl-smtpd", override: "SASL_SMTPD_BIN")
        let cases = [
            "dovecot_auth_listen = 0.0.0.0:9999": "is not a loopback address",
            "dovecot_auth_mode = 0666": "others may not connect",
            "dovecot_auth_service_mechanisms = smtp: PLAIN NTLM": "unknown mechanism NTLM for smtp",
            "dovecot_auth_service_mechanisms = PLAIN": "expected service: MECHANISM",
        ]
        for (line, message) in cases {
            try (line + "\n").write(toFile: directory + "/bad.conf", atomically: true, encoding: .utf8)
            let result = ProcessRunner.run(
                daemon,
                ["--config", directory + "/bad.conf", "--check-config"],
                timeout: 30
            )
            XCTAssertNotEqual(result.status, 0, line)
            XCTAssertTrue(result.standardError.contains(message), "\(line): \(result.standardError)")
        }
        let good = "dovecot_auth_service_mechanisms = smtp: PLAIN LOGIN; sieve: scram-sha-256\n"
        try good.write(toFile: directory + "/good.conf", atomically: true, encoding: .utf8)
        let result = ProcessRunner.run(daemon, ["--config", directory + "/good.conf", "--check-config"], timeout: 30)
        XCTAssertTrue(
            result.standardOutput.contains("dovecot_auth_service_mechanisms = sieve: SCRAM-SHA-256; smtp: PLAIN LOGIN"),
            result.standardOutput + result.standardError
        )
    }

    func testDaemonServesTheSocketWithItsOwnerAndModeAndTakesAPasswordChangedBySasldbPasswd() async throws {
        guard geteuid() == 0 else { throw XCTSkip("starting the daemon as root to switch to nobody needs root") }
        guard getpwnam("nobody") != nil, getgrnam("nogroup") != nil, let postfix = getpwnam("postfix") else {
            throw XCTSkip("no account nobody, group nogroup or account postfix (package postfix)")
        }
        let daemon = try builtExecutable("sasl-smtpd", override: "SASL_SMTPD_BIN")
        let database = directory + "/sasldb2"
        try sasldb(["add", "-f", database, "--stdin", Self.login], input: "first password 1\n")
        // nobody reads it, as group sasl reads Debian's /etc/sasldb2.
        chmod(database, 0o644)
        try FileManager.default.createDirectory(atPath: directory + "/spool", withIntermediateDirectories: true)
        chmod(directory + "/spool", 0o777)
        // The guide's lines, with the socket in the test's directory instead of Postfix's queue.
        let guide = try guideBlock("running-beside-postfix.md", "dovecot-conf")
        XCTAssertEqual(guide.first, "dovecot_auth_socket = /var/spool/postfix/private/auth")
        let socketLines = guide.joined(separator: "\n")
            .replacingOccurrences(of: "/var/spool/postfix/private/auth", with: directory + "/run/auth")
        let configuration = """
            hostname = mail.example.org
            default_realm = example.org
            submission_listen =
            plain_listen = 127.0.0.1:0
            require_tls = no
            mechanisms_without_tls = CRAM-MD5
            sasldb_path = \(database)
            sink = maildir:\(directory)/spool/Maildir
            user = nobody
            group = nogroup
            poppassd_listen =
            passwd_socket =
            \(socketLines)
            """
        try configuration.write(toFile: directory + "/sasl-smtpd.conf", atomically: true, encoding: .utf8)
        let log = directory + "/daemon.log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: daemon)
        process.arguments = ["--config", directory + "/sasl-smtpd.conf"]
        let handle = FileHandle(forWritingAtPath: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        defer {
            if process.isRunning { kill(process.processIdentifier, SIGTERM) }
            process.waitUntilExit()
        }
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(30)
        func logText() -> String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
        while !logText().contains("msg=ready"), process.isRunning, clock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        XCTAssertTrue(logText().contains("msg=ready"), logText())

        var status = stat()
        XCTAssertEqual(lstat(directory + "/run/auth", &status), 0)
        XCTAssertEqual(status.st_mode & 0o777, 0o660)
        XCTAssertEqual(status.st_uid, postfix.pointee.pw_uid)
        XCTAssertEqual(status.st_gid, getgrnam("postfix")?.pointee.gr_gid)

        let good = try await doveadm("first password 1")
        XCTAssertEqual(good.status, 0, good.standardOutput + good.standardError + logText())
        XCTAssertTrue(good.standardOutput.contains("user=\(Self.login)"), good.standardOutput)
        let bad = try await doveadm("wrong")
        XCTAssertNotEqual(bad.status, 0, bad.standardOutput)

        try sasldb(
            ["passwd", "-f", database, "--stdin", Self.login],
            input: "first password 1\nsecond password 2\nsecond password 2\n"
        )
        let changed = try await doveadm("second password 2")
        XCTAssertEqual(changed.status, 0, changed.standardOutput + changed.standardError + logText())
        let old = try await doveadm("first password 1")
        XCTAssertNotEqual(old.status, 0, old.standardOutput)

        kill(process.processIdentifier, SIGHUP)
        while !logText().contains("msg=reloaded"), clock.now < deadline + .seconds(30) {
            try await Task.sleep(for: .milliseconds(50))
        }
        let afterReload = try await doveadm("second password 2")
        XCTAssertEqual(afterReload.status, 0, afterReload.standardOutput + logText())
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, logText())
    }
}
