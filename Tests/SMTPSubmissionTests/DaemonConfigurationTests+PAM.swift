import Foundation
import ServerKitTestSupport
import XCTest

/// PAM as a password source, end to end: the demo daemon with `libpam_wrapper` preloaded into it alone and a
/// `pam_matrix` stack, spoken to by swaks and Python's smtplib over STARTTLS and implicit TLS.
extension DaemonConfigurationTests {
    // MARK: - Configuration

    func testPasswordSourceKeysHaveTheirDefaultsAndAPAMOnlyListenerNeedsPLAINOrLOGIN() throws {
        let directory = try SinkTestSupport.makeDirectory(self)
        let configuration = try plainConfiguration(directory)
        let defaults = try run(["--config", configuration, "--check-config"])
        XCTAssertEqual(defaults.status, 0, defaults.stderr)
        for line in [
            "password_source = sasldb", "password_source_submission =", "password_source_smtps =",
            "password_source_plain =", "pam_service = sasl-smtpd", "pam_threads = 4",
        ] {
            XCTAssertTrue(defaults.stdout.contains(line + "\n"), "missing \(line) in\n\(defaults.stdout)")
        }
        let mixed = try run([
            "--config", configuration, "--check-config", "--set", "password_source=sasldb, pam", "--set",
            "password_source_plain=pam", "--set", "mechanisms=CRAM-MD5 PLAIN", "--set",
            "mechanisms_without_tls=CRAM-MD5 PLAIN",
        ])
        XCTAssertEqual(mixed.status, 0, mixed.stderr)
        XCTAssertTrue(mixed.stdout.contains("password_source = sasldb,pam\n"), mixed.stdout)
        XCTAssertTrue(mixed.stdout.contains("password_source_plain = pam\n"), mixed.stdout)
        XCTAssertTrue(
            mixed.stderr.contains(
                "password_source_plain = pam: the listeners of password_source_plain do not offer "
                    + "CRAM-MD5, which need stored secrets"
            ),
            mixed.stderr
        )

        // Served as a user outside group shadow, pam_unix could not read the system passwords.
        let unprivileged = try run([
            "--config", configuration, "--check-config", "--set", "password_source=sasldb,pam", "--set",
            "user=nobody",
        ])
        XCTAssertTrue(
            unprivileged.stderr.contains("user nobody (groups nogroup) cannot read it, so pam_unix refuses"),
            unprivileged.stderr
        )
        XCTAssertTrue(unprivileged.stderr.contains("adduser nobody shadow"), unprivileged.stderr)

        // The file's plain listener offers CRAM-MD5 and SCRAM-SHA-256 only: nothing PAM can check.
        let unusable = try run(["--config", configuration, "--check-config", "--set", "password_source=pam"])
        XCTAssertEqual(unusable.status, 1, unusable.stderr)
        XCTAssertTrue(unusable.stderr.contains("serves only PLAIN and LOGIN"), unusable.stderr)
        for (setting, expected) in [
            ("password_source=shadow", "expected sasldb, pam or sasldb,pam"),
            ("password_source_smtps=pam,sasldb", "expected sasldb, pam or sasldb,pam"),
            ("pam_service=/etc/pam.d/other", "expected a PAM service name"),
            ("pam_threads=0", "expected a whole number from 1 to 256"),
        ] {
            let refused = try run(["--config", configuration, "--check-config", "--set", setting])
            XCTAssertEqual(refused.status, 1, setting)
            XCTAssertTrue(refused.stderr.contains(expected), "\(setting): \(refused.stderr)")
        }
    }

    // MARK: - Right, wrong and unknown

    func testPAMListenerAcceptsTheRightPasswordAndRefusesWrongUnknownAndBarredAccounts() async throws {
        let (daemon, errors, submission, smtps) = try startPAMDemo(settings: ["password_source_smtps=pam"])
        // Implicit TLS checks with PAM alone and offers only what PAM can serve.
        let right = try await swaks(smtps, "--tlsc", login: "pamuser", password: "pam-secret")
        XCTAssertTrue(right.contains("<~  235 "), right)
        XCTAssertTrue(right.contains("250 AUTH PLAIN LOGIN\n") || right.contains("250-AUTH PLAIN LOGIN\n"), right)
        let login = try await swaks(smtps, "--tlsc", login: "pamuser", password: "pam-secret", mechanism: "LOGIN")
        XCTAssertTrue(login.contains("<~  235 "), login)
        for (index, (name, password)) in [
            ("pamuser", "wrong-secret"), ("nosuchuser", "pam-secret"), ("imaponly", "imap-secret"),
            // The sasldb user is not in PAM: on this listener the database is not asked.
            ("demo@demo.local", "demo-password"),
        ].enumerated() {
            // Each from an address of its own, so that the pauses failures earn an address do not add up.
            let refused = try await swaks(
                smtps,
                "--tlsc",
                login: name,
                password: password,
                from: "127.0.0.\(index + 2)"
            )
            XCTAssertTrue(refused.contains("<~* 535 5.7.8"), "\(name): \(refused)")
        }
        // STARTTLS on the submission port still checks sasldb alone.
        let stored = try await swaks(submission, "--tls", login: "demo@demo.local", password: "demo-password")
        XCTAssertTrue(stored.contains("<~  235 "), stored)
        XCTAssertTrue(stored.contains("CRAM-MD5"), stored)
        let notStored = try await swaks(
            submission,
            "--tls",
            login: "pamuser",
            password: "pam-secret",
            from: "127.0.0.9"
        )
        XCTAssertTrue(notStored.contains("<~* 535 5.7.8"), notStored)

        // A reload keeps the PAM source the daemon started with.
        var log = reload(daemon, errors)
        let reloaded = try await swaks(smtps, "--tlsc", login: "pamuser", password: "pam-secret")
        XCTAssertTrue(reloaded.contains("<~  235 "), reloaded)

        kill(daemon.processIdentifier, SIGTERM)
        daemon.waitUntilExit()
        log += String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(log.contains("sasl.user=pamuser@demo.local"), log)
        for secret in ["pam-secret", "wrong-secret", "imap-secret"] { XCTAssertFalse(log.contains(secret), log) }
    }

    func testSasldbThenPAMChecksStoredUsersInTheDatabaseOnly() async throws {
        // A PAM account named like the sasldb user, with another password: it must never let that password in.
        let (_, _, submission, _) = try startPAMDemo(
            settings: ["password_source=sasldb,pam"],
            accounts: PAMWrapperStack.accounts + ["demo:pam-password-of-demo:sasl-smtpd"]
        )
        for (name, password, code) in [
            ("demo", "demo-password", "235"), ("demo", "pam-password-of-demo", "535"), ("pamuser", "pam-secret", "235"),
            ("pamuser", "wrong-secret", "535"),
        ] {
            let transcript = try await swaks(submission, "--tls", login: name, password: password)
            XCTAssertTrue(transcript.contains(" \(code) "), "\(name) \(password): \(transcript)")
        }
    }

    // MARK: - Threads and delays

    func testEventLoopServesOtherSessionsWhileASlowPAMCheckWaits() async throws {
        let sleep = try PAMWrapperStack.systemModule("pam_exec.so", "quiet /bin/sleep 3")
        let (_, _, submission, _) = try startPAMDemo(settings: ["password_source=pam"], before: [sleep])
        // Connections are spread over the daemon's event loops in turn (one per core): as many probes as cores, so
        // one of them shares the loop of the session whose PAM check waits.
        let probes = (0..<max(2, ProcessInfo.processInfo.activeProcessorCount)).map { index in
            TimedSession(name: "probe\(index)", login: nil, password: nil, start: 1)
        }
        let results = try await smtplibSessions(
            port: submission,
            [.init(name: "slow", login: "pamuser", password: "pam-secret", start: 0)] + probes
        )
        let slow = try XCTUnwrap(results["slow"])
        XCTAssertEqual(slow.code, 235)
        XCTAssertGreaterThan(slow.seconds, 2.5, "the PAM stack did not wait")
        for probe in probes {
            let result = try XCTUnwrap(results[probe.name])
            XCTAssertEqual(result.code, 250)
            XCTAssertLessThan(result.seconds, 1, "NOOP waited for the PAM check")
            XCTAssertLessThan(result.ended, slow.ended, "the other session was served only after the PAM check")
        }
    }

    func testAFullPAMThreadSetAnswers454AtOnce() async throws {
        let sleep = try PAMWrapperStack.systemModule("pam_exec.so", "quiet /bin/sleep 3")
        let (_, _, submission, _) = try startPAMDemo(
            settings: ["password_source=pam", "pam_threads=1"],
            before: [sleep]
        )
        let results = try await smtplibSessions(
            port: submission,
            [
                .init(name: "first", login: "pamuser", password: "pam-secret", start: 0),
                .init(name: "second", login: "pamuser", password: "pam-secret", start: 1),
            ]
        )
        XCTAssertEqual(results["first"]?.code, 235)
        XCTAssertEqual(results["second"]?.code, 454)
        XCTAssertLessThan(try XCTUnwrap(results["second"]).seconds, 1, "the refusal queued")
    }

    func testPAMFailureDelayIsNotSleptOnThePAMThread() async throws {
        let delay = try PAMWrapperStack.systemModule("pam_faildelay.so", "delay=8000000")
        let (_, _, submission, _) = try startPAMDemo(settings: ["password_source=pam"], before: [delay])
        let results = try await smtplibSessions(
            port: submission,
            [.init(name: "wrong", login: "pamuser", password: "wrong-secret", start: 0)]
        )
        let wrong = try XCTUnwrap(results["wrong"])
        XCTAssertEqual(wrong.code, 535)
        // The session's own pause after a first failure (1 s) applies; PAM's 8 s do not.
        XCTAssertGreaterThan(wrong.seconds, 0.9)
        XCTAssertLessThan(wrong.seconds, 4, "PAM's failure delay was slept")
    }

    // MARK: - Daemon and clients

    /// Starts the demo with `settings` (`key=value`) and a pam_matrix stack of `accounts` behind the `before` lines,
    /// preloaded into the daemon alone.
    private func startPAMDemo(
        settings: [String],
        before: [String] = [],
        accounts: [String] = PAMWrapperStack.accounts
    ) throws -> (Process, Pipe, Int, Int) {
        let directory = try SinkTestSupport.makeDirectory(self)
        let stack = try PAMWrapperStack(directory: directory + "/pam", before: before, accounts: accounts)
        return try startDemo(
            directory,
            extra: settings.flatMap { ["--set", $0] },
            environment: stack.environment
        )
    }

    /// swaks through AUTH on `port` (`--tls` for STARTTLS, `--tlsc` for implicit TLS), from the loopback address
    /// `from`; its transcript.
    private func swaks(
        _ port: Int,
        _ tls: String,
        login: String,
        password: String,
        mechanism: String = "PLAIN",
        from: String = "127.0.0.1"
    ) async throws -> String {
        guard let swaks = ProcessRunner.which("swaks") else { throw XCTSkip("swaks is not installed") }
        let result = await runProcess(
            swaks,
            [
                "--server", "127.0.0.1:\(port)", tls, "--auth", mechanism, "--auth-user", login, "--auth-password",
                password, "--quit-after", "AUTH", "--timeout", "30", "--local-interface", from,
            ],
            timeout: 60
        )
        return result.standardOutput + result.standardError
    }

    /// One SMTP session of ``smtplibSessions(port:_:)``: STARTTLS, EHLO, then `AUTH PLAIN` (or NOOP without a login),
    /// started `start` seconds after the first.
    struct TimedSession: Encodable {
        var name: String
        var login: String?
        var password: String?
        var start: Double
    }

    /// What a ``TimedSession`` got: the reply code of its AUTH or NOOP, how long that command took, and when it was
    /// answered (seconds after the first session started).
    struct TimedResult: Decodable {
        var code: Int
        var seconds: Double
        var ended: Double
    }

    /// Runs `sessions` side by side with Python's smtplib, each on its own connection.
    func smtplibSessions(port: Int, _ sessions: [TimedSession]) async throws -> [String: TimedResult] {
        guard let python = ProcessRunner.which("python3") else { throw XCTSkip("python3 is not installed") }
        let plan = String(decoding: try JSONEncoder().encode(sessions), as: UTF8.self)
        let result = await runProcess(python, ["-c", Self.smtplibScript, String(port), plan], timeout: 60)
        XCTAssertEqual(result.status, 0, result.standardError)
        return try JSONDecoder().decode([String: TimedResult].self, from: Data(result.standardOutput.utf8))
    }

    private static let smtplibScript = """
        import base64, json, smtplib, ssl, sys, threading, time
        port, plan = int(sys.argv[1]), json.loads(sys.argv[2])
        context = ssl._create_unverified_context()
        results, origin = {}, time.monotonic()
        def session(step):
            time.sleep(step["start"])
            client = smtplib.SMTP("127.0.0.1", port, timeout=30)
            client.starttls(context=context)
            client.ehlo()
            begin = time.monotonic()
            if step.get("login") is None:
                code = client.noop()[0]
            else:
                token = b"\\0" + step["login"].encode() + b"\\0" + step["password"].encode()
                code = client.docmd("AUTH", "PLAIN " + base64.b64encode(token).decode())[0]
            now = time.monotonic()
            results[step["name"]] = {"code": code, "seconds": now - begin, "ended": now - origin}
            client.quit()
        threads = [threading.Thread(target=session, args=(step,)) for step in plan]
        for thread in threads: thread.start()
        for thread in threads: thread.join()
        print(json.dumps(results))
        """
}
