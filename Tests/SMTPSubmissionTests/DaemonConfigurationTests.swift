import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The `sasl-smtpd` daemon seen from outside: its configuration file and checks (`--check-config`), the demo served
/// end to end with its own `smtp-test` client, reload on SIGHUP and graceful stop on SIGTERM.
///
/// The test target cannot import the executable, so these run the binary `swift build` put beside the test bundle
/// (or `$SASL_SMTPD_BIN`).
final class DaemonConfigurationTests: XCTestCase {
    // MARK: - Running the binary

    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// The built `sasl-smtpd`, `nil` when it is not built.
    static var binary: String? {
        if let path = ProcessInfo.processInfo.environment["SASL_SMTPD_BIN"] { return path }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("sasl-smtpd").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return nil
    }

    private func binaryPath() throws -> String {
        guard let path = Self.binary else { throw XCTSkip("sasl-smtpd is not built beside the tests (swift build)") }
        return path
    }

    /// Runs the binary to completion, killing it after `timeout` seconds. Its output goes to files, so a chatty
    /// child never blocks on a full pipe.
    func run(_ arguments: [String], timeout: TimeInterval = 30) throws -> Run {
        let directory = try SinkTestSupport.makeDirectory(self)
        XCTAssertTrue(FileManager.default.createFile(atPath: directory + "/out", contents: nil))
        XCTAssertTrue(FileManager.default.createFile(atPath: directory + "/err", contents: nil))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try binaryPath())
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle(forWritingAtPath: directory + "/out")
        process.standardError = FileHandle(forWritingAtPath: directory + "/err")
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            XCTFail("sasl-smtpd \(arguments) did not finish in \(timeout) s")
        }
        process.waitUntilExit()
        return Run(
            status: process.terminationStatus,
            stdout: (try? String(contentsOfFile: directory + "/out", encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: directory + "/err", encoding: .utf8)) ?? ""
        )
    }

    /// A configuration that needs no certificate: one plain loopback listener.
    func plainConfiguration(_ directory: String, extra: String = "") throws -> String {
        let path = directory + "/sasl-smtpd.conf"
        try """
        # a test configuration
        hostname = mail.example.org
        submission_listen =
        plain_listen = 127.0.0.1:0
        require_tls = no
        mechanisms = CRAM-MD5 SCRAM-SHA-256
        mechanisms_without_tls = CRAM-MD5
        sasldb_path = \(directory)/sasldb2
        sink = maildir:\(directory)/Maildir
        user =
        \(extra)
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private func makeCertificate(_ directory: String, name: String = "localhost") throws -> (String, String) {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") else {
            throw XCTSkip("openssl is not installed")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=\(name)",
            "-addext", "subjectAltName=DNS:\(name)", "-keyout", directory + "/key.pem", "-out", directory + "/cert.pem",
        ]
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        chmod(directory + "/key.pem", 0o600)
        return (directory + "/cert.pem", directory + "/key.pem")
    }

    // MARK: - Configuration

    func testCheckConfigPrintsEveryKeyWithItsDefault() throws {
        let directory = try SinkTestSupport.makeDirectory(self)
        let result = try run(["--config", try plainConfiguration(directory), "--check-config"])
        XCTAssertEqual(result.status, 0, result.stderr)
        for line in [
            "hostname = mail.example.org", "plain_listen = 127.0.0.1:0", "recipient_limit = 100",
            "message_size_limit = 26214400", "command_timeout = 300", "allow_null_sender = yes",
            "tls_minimum_version = 1.2", "log_level = info", "chunking = yes", "sink = maildir:\(directory)/Maildir",
            "user =",
        ] {
            XCTAssertTrue(result.stdout.contains(line + "\n"), "missing \(line) in\n\(result.stdout)")
        }
        XCTAssertTrue(result.stderr.contains("configuration OK"), result.stderr)
        XCTAssertTrue(result.stderr.contains("does not exist yet"), "missing database warning: \(result.stderr)")
    }

    func testCommentsContinuationLinesAndCommandLineOverrides() throws {
        let directory = try SinkTestSupport.makeDirectory(self)
        let path = try plainConfiguration(
            directory,
            extra: "recipient_limit = 50   # a trailing comment\nmechanisms_without_tls = CRAM-MD5\n"
        )
        var text = try String(contentsOfFile: path, encoding: .utf8)
        text = text.replacingOccurrences(
            of: "mechanisms = CRAM-MD5 SCRAM-SHA-256\nmechanisms_without_tls = CRAM-MD5\n",
            with: "mechanisms = CRAM-MD5\n    SCRAM-SHA-256, PLAIN\n"
        )
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try run(
            ["--config", path, "--check-config", "--set", "message_size_limit=2048", "--hostname", "other.example.org"]
        )
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("mechanisms = CRAM-MD5 SCRAM-SHA-256 PLAIN\n"), result.stdout)
        XCTAssertTrue(result.stdout.contains("recipient_limit = 50\n"), result.stdout)
        XCTAssertTrue(result.stdout.contains("message_size_limit = 2048\n"), result.stdout)
        XCTAssertTrue(result.stdout.contains("hostname = other.example.org\n"), result.stdout)
    }

    func testUnknownKeyIsNamedWithItsFileAndLine() throws {
        let directory = try SinkTestSupport.makeDirectory(self)
        let path = try plainConfiguration(directory, extra: "recipents_limit = 5")
        let result = try run(["--config", path, "--check-config"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("\(path), line 11: unknown key recipents_limit"), result.stderr)
    }

    func testKeySetTwiceIsRefused() throws {
        let directory = try SinkTestSupport.makeDirectory(self)
        let path = try plainConfiguration(directory, extra: "hostname = again.example.org")
        let result = try run(["--config", path, "--check-config"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("hostname is already set on line 2"), result.stderr)
    }

    func testBadValuesSayWhatIsExpected() throws {
        let directory = try SinkTestSupport.makeDirectory(self)
        let cases: [(String, String)] = [
            ("recipient_limit=0", "expected a whole number from 1"),
            ("sink=smtp:relay.example.org", "expected smtp:HOST:PORT"),
            ("sink=ftp:/x", "expected maildir:DIR, sendmail:PATH, smtp:HOST:PORT or lmtp:HOST:PORT"),
            ("mechanisms=CRAM-MD5 NTLM", "unknown mechanism NTLM"),
            ("plain_listen=127.0.0.1", "expected address:port"),
            ("require_tls=maybe", "expected yes or no"),
            ("tls_key=key.pem", "expected an absolute path"),
            ("tls_key=", "expected an absolute path"),
            ("sender_login_map=logins", "expected an absolute path, or nothing for no map"),
            ("passwd_socket=passwd.sock", "expected an absolute path, or nothing for no socket"),
            ("password_common_list=list.txt", "expected an absolute path, or nothing for the built-in list only"),
            ("log_level=loud", "expected trace, debug, info"),
        ]
        for (setting, expected) in cases {
            let result = try run(["--config", try plainConfiguration(directory), "--check-config", "--set", setting])
            XCTAssertEqual(result.status, 1, setting)
            XCTAssertTrue(result.stderr.contains(expected), "\(setting): \(result.stderr)")
        }
    }

    func testPlainListenerNeedsMechanismsWithoutTLS() throws {
        let directory = try SinkTestSupport.makeDirectory(self)
        let result = try run(
            ["--config", try plainConfiguration(directory), "--check-config", "--set", "require_tls=yes"]
        )
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("require_tls"), result.stderr)
    }

    func testPrivateKeyReadableByOthersIsRefusedWithTheChmodToRun() throws {
        let directory = try SinkTestSupport.makeDirectory(self)
        let (certificate, key) = try makeCertificate(directory, name: "mail.example.org")
        chmod(key, 0o640)
        let result = try run(
            [
                "--config", try plainConfiguration(directory), "--check-config", "--submission-listen", "127.0.0.1:0",
                "--tls-certificate", certificate, "--tls-key", key,
            ]
        )
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("chmod 600 \(key)"), result.stderr)
    }

    func testCertificateThatDoesNotNameTheHostIsAWarning() throws {
        let directory = try SinkTestSupport.makeDirectory(self)
        let (certificate, key) = try makeCertificate(directory, name: "other.example.net")
        let result = try run(
            [
                "--config", try plainConfiguration(directory), "--check-config", "--submission-listen", "127.0.0.1:0",
                "--tls-certificate", certificate, "--tls-key", key,
            ]
        )
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("does not name hostname mail.example.org"), result.stderr)
        XCTAssertTrue(result.stderr.contains("DNS:other.example.net"), result.stderr)
    }

    func testDatabaseWritableByOthersIsRefused() throws {
        let directory = try SinkTestSupport.makeDirectory(self)
        XCTAssertTrue(FileManager.default.createFile(atPath: directory + "/sasldb2", contents: Data()))
        chmod(directory + "/sasldb2", 0o666)
        let result = try run(["--config", try plainConfiguration(directory), "--check-config"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("chmod o-w \(directory)/sasldb2"), result.stderr)
    }

    func testMissingUserIsAnError() throws {
        let directory = try SinkTestSupport.makeDirectory(self)
        let result = try run(
            ["--config", try plainConfiguration(directory), "--check-config", "--user", "no-such-user-4711"]
        )
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("user no-such-user-4711 does not exist"), result.stderr)
    }

    /// The local socket (own account only) is on by default; poppassd over TCP, where any local process may change
    /// any account whose password it knows, is off until a web mailer needs it.
    func testTheLocalSocketIsOnAndPoppassdOffByDefault() throws {
        let directory = try SinkTestSupport.makeDirectory(self)
        let result = try run(["--config", try plainConfiguration(directory), "--check-config"])
        XCTAssertEqual(result.status, 0, result.stderr)
        for line in [
            "poppassd_listen =", "poppassd_tls_listen =", "passwd_socket = /run/sasl-smtpd/passwd.sock",
            "poppassd_timeout = 120", "password_min_length = 8", "password_max_length = 256",
            "password_common_list =",
        ] {
            XCTAssertTrue(result.stdout.contains(line + "\n"), "missing \(line) in\n\(result.stdout)")
        }
    }

    func testPlaintextPoppassdOffLoopbackIsRefused() throws {
        let directory = try SinkTestSupport.makeDirectory(self)
        let result = try run(
            ["--config", try plainConfiguration(directory), "--check-config", "--set", "poppassd_listen=0.0.0.0:106"]
        )
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("poppassd_listen 0.0.0.0:106 is not a loopback address"), result.stderr)
    }

    func testPlainRelayOffLoopbackIsRefusedNamingRelayTLS() throws {
        let directory = try SinkTestSupport.makeDirectory(self)
        let result = try run(
            [
                "--config", try plainConfiguration(directory), "--check-config", "--set", "sink=smtp:192.0.2.10:25",
                "--set", "relay_tls=none",
            ]
        )
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("relay_tls = none"), result.stderr)
        XCTAssertTrue(
            result.stderr.contains("192.0.2.10 of sink smtp:192.0.2.10:25 is not a loopback address"),
            result.stderr
        )
    }

    func testRelayOffLoopbackStartsVerifiedTLSByDefault() throws {
        let directory = try SinkTestSupport.makeDirectory(self)
        let result = try run(
            ["--config", try plainConfiguration(directory), "--check-config", "--set", "sink=lmtp:192.0.2.10:24"]
        )
        XCTAssertEqual(result.status, 0, result.stderr)
        for line in ["relay_tls = auto", "relay_tls_name =", "relay_ca_file =", "relay_auth_file ="] {
            XCTAssertTrue(result.stdout.contains(line + "\n"), "missing \(line) in\n\(result.stdout)")
        }
    }

    func testRelayAuthFileReadableByOthersIsRefusedWithTheChmodToRun() throws {
        let directory = try SinkTestSupport.makeDirectory(self)
        let secrets = directory + "/relay-auth"
        let password = "relay-secret-5512"
        try "relay-user\n\(password)\n".write(toFile: secrets, atomically: true, encoding: .utf8)
        chmod(secrets, 0o644)
        let arguments = [
            "--config", try plainConfiguration(directory), "--check-config", "--set", "sink=smtp:127.0.0.1:10025",
            "--set", "relay_auth_file=\(secrets)",
        ]
        let refused = try run(arguments)
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("relay_auth_file \(secrets)"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("chmod 600 \(secrets)"), refused.stderr)
        XCTAssertFalse(refused.stdout.contains(password) || refused.stderr.contains(password))

        chmod(secrets, 0o640)
        let accepted = try run(arguments)
        XCTAssertEqual(accepted.status, 0, accepted.stderr)
        XCTAssertFalse(accepted.stdout.contains(password) || accepted.stderr.contains(password))
    }

    func testPasswordPolicyKeysAreCheckedTogether() throws {
        let directory = try SinkTestSupport.makeDirectory(self)
        let configuration = try plainConfiguration(directory)
        let tooLong = try run(["--config", configuration, "--check-config", "--set", "password_min_length=300"])
        XCTAssertEqual(tooLong.status, 1)
        XCTAssertTrue(tooLong.stderr.contains("password_max_length must be between"), tooLong.stderr)
        let missingList = try run(
            ["--config", configuration, "--check-config", "--set", "password_common_list=\(directory)/none.txt"]
        )
        XCTAssertEqual(missingList.status, 1)
        XCTAssertTrue(missingList.stderr.contains("password_common_list"), missingList.stderr)
    }

    func testMissingConfigurationFileIsAnError() throws {
        let result = try run(["--config", "/nonexistent/sasl-smtpd.conf", "--check-config"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("cannot read /nonexistent/sasl-smtpd.conf"), result.stderr)
    }

    // MARK: - The demo, end to end

    /// Starts `--demo` on ports the system chooses (poppassd's too), with `extra` arguments and `environment` added
    /// to the test's own, and returns the process and the submission and SMTPS ports.
    func startDemo(
        _ directory: String,
        extra: [String] = [],
        environment: [String: String] = [:]
    ) throws -> (Process, Pipe, Int, Int) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try binaryPath())
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        process.arguments =
            [
                "--demo", directory, "--submission-listen", "127.0.0.1:0", "--smtps-listen", "127.0.0.1:0",
                // The demo's fixed poppassd port would clash between tests running side by side.
                "--set", "poppassd_listen=127.0.0.1:0",
            ] + extra
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        addTeardownBlock {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        var log = ""
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, process.isRunning {
            let chunk = errors.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            log += String(decoding: chunk, as: UTF8.self)
            if let line = log.split(separator: "\n").first(where: { $0.contains("msg=ready") }),
                let field = line.split(separator: " ").first(where: { $0.hasPrefix("listen=") })
            {
                let ports = field.dropFirst(7).split(separator: ",").compactMap { $0.split(separator: ":").last }
                    .compactMap { Int($0) }
                XCTAssertEqual(ports.count, 2, log)
                return (process, errors, ports[0], ports[1])
            }
        }
        throw DemoDidNotStart(log: log)
    }

    func testDemoTakesAMessageThroughSTARTTLSWithSCRAMAndDeliversItToTheMaildir() throws {
        let directory = try SinkTestSupport.makeDirectory(self)
        let (_, _, submission, _) = try startDemo(directory)
        try "demo-password\n".write(toFile: directory + "/password", atomically: true, encoding: .utf8)
        let result = try run(
            [
                "smtp-test", "--host", "127.0.0.1", "--port", String(submission), "--starttls", "--cafile",
                directory + "/tls/cert.pem", "--mechanism", "SCRAM-SHA-256", "--user", "demo@demo.local",
                "--password-file", directory + "/password", "--to", "someone@example.org",
            ]
        )
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("ESMTP> STARTTLS"), result.stdout)
        XCTAssertTrue(result.stdout.contains("ESMTP< Decoded: r="), result.stdout)
        XCTAssertTrue(result.stdout.contains("ESMTP< 235 "), result.stdout)
        XCTAssertTrue(result.stdout.contains("CHUNKING"), result.stdout)
        XCTAssertTrue(result.stdout.contains("SMTP< 250 2.0.0"), result.stdout)
        let delivered = SinkTestSupport.names(in: directory + "/Maildir/new")
        XCTAssertEqual(delivered.count, 1)
        let envelope = try String(
            contentsOfFile: directory + "/Maildir/envelope/" + (delivered.first ?? ""),
            encoding: .utf8
        )
        XCTAssertTrue(envelope.contains("recipient: someone@example.org\n"), envelope)
    }

    func testSMTPTestNeverPrintsThePasswordAndEachMechanismWorksOverImplicitTLS() throws {
        let directory = try SinkTestSupport.makeDirectory(self)
        let (_, _, _, smtps) = try startDemo(directory)
        try "demo-password\n".write(toFile: directory + "/password", atomically: true, encoding: .utf8)
        for mechanism in ["PLAIN", "LOGIN", "CRAM-MD5", "DIGEST-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256"] {
            let result = try run(
                [
                    "smtp-test", "--port", String(smtps), "--tls", "--cafile", directory + "/tls/cert.pem",
                    "--mechanism", mechanism, "--user", "demo@demo.local", "--password-file", directory + "/password",
                ]
            )
            XCTAssertEqual(result.status, 0, "\(mechanism): \(result.stdout)")
            XCTAssertFalse(result.stdout.contains("demo-password"), "\(mechanism) printed the password")
            // The base64 forms PLAIN and LOGIN would send.
            XCTAssertFalse(result.stdout.contains("ZGVtby1wYXNzd29yZA"), "\(mechanism) printed the password in base64")
        }
    }

    func testWrongPasswordFailsWith535() throws {
        let directory = try SinkTestSupport.makeDirectory(self)
        let (_, _, _, smtps) = try startDemo(directory)
        try "not-the-password\n".write(toFile: directory + "/password", atomically: true, encoding: .utf8)
        let result = try run(
            [
                "smtp-test", "--port", String(smtps), "--tls", "--insecure", "--mechanism", "CRAM-MD5", "--user",
                "demo@demo.local", "--password-file", directory + "/password",
            ]
        )
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stdout.contains("ESMTP< 535 "), result.stdout)
    }

    /// Sends SIGHUP to `daemon` and reads its standard error until it logged the reload (20 seconds at most);
    /// returns what it read.
    @discardableResult
    func reload(_ daemon: Process, _ errors: Pipe) -> String {
        kill(daemon.processIdentifier, SIGHUP)
        var log = ""
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, !log.contains("msg=reloaded") {
            log += String(decoding: errors.fileHandleForReading.availableData, as: UTF8.self)
        }
        XCTAssertTrue(log.contains("msg=reloaded"), log)
        return log
    }

    func testSIGHUPReloadsMechanismsAndSIGTERMStopsGracefully() throws {
        let directory = try SinkTestSupport.makeDirectory(self)
        let (process, errors, _, smtps) = try startDemo(directory)
        try "demo-password\n".write(toFile: directory + "/password", atomically: true, encoding: .utf8)
        let configuration = directory + "/sasl-smtpd.conf"
        let text = try String(contentsOfFile: configuration, encoding: .utf8)
        try (text + "mechanisms = SCRAM-SHA-256 PLAIN\nchunking = no\n").write(
            toFile: configuration,
            atomically: true,
            encoding: .utf8
        )
        reload(process, errors)
        let refused = try run(
            [
                "smtp-test", "--port", String(smtps), "--tls", "--insecure", "--mechanism", "CRAM-MD5", "--user",
                "demo@demo.local", "--password-file", directory + "/password",
            ]
        )
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stdout.contains("250 AUTH SCRAM-SHA-256 PLAIN"), refused.stdout)
        XCTAssertFalse(refused.stdout.contains("CHUNKING"), refused.stdout)

        kill(process.processIdentifier, SIGTERM)
        let stopBy = Date().addingTimeInterval(20)
        while process.isRunning && Date() < stopBy { usleep(20_000) }
        XCTAssertFalse(process.isRunning)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
    }
}

/// `--demo` exited or said nothing like `ready` within a minute.
private struct DemoDidNotStart: Error, CustomStringConvertible {
    var log: String
    var description: String { "the demo did not start: \(log)" }
}
