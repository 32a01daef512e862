import Foundation
import Logging
import PasswordChange
import PasswordService
import SASLDB
import SMTPSubmission
import ServerKit
import Synchronization
import XCTest

final class PoppassdServerTests: XCTestCase {
    private let users = ["alice": "alice-old-pw", "bob": "bob-password-1", "carol": "carol-password-1"]

    private func start(
        adjust: (inout PoppassdServerConfiguration) -> Void = { _ in }
    ) throws -> PasswordServiceFixture {
        let fixture = try PasswordServiceFixture(users: users, adjust: adjust)
        addTeardownBlock { fixture.stop() }
        return fixture
    }

    func testRoundcubeDriverChangesThePasswordAndSMTPAuthSeesItWithoutRestart() throws {
        let fixture = try start()
        XCTAssertEqual(
            try SMTPPlainLogin.authenticate(port: fixture.smtpPort, user: "alice", password: "alice-old-pw"),
            235
        )
        let outcome = try RoundcubeDriver.save(
            port: fixture.poppassdPort,
            user: "alice@example.org",
            current: "alice-old-pw",
            new: " new horse battery "
        )
        XCTAssertEqual(outcome, .success)
        XCTAssertEqual(
            try SMTPPlainLogin.authenticate(port: fixture.smtpPort, user: "alice", password: " new horse battery "),
            235
        )
        XCTAssertEqual(
            try SMTPPlainLogin.authenticate(port: fixture.smtpPort, user: "alice", password: "alice-old-pw"),
            535
        )
        XCTAssertEqual(
            fixture.auditRecords.map(\.description),
            ["password change user=alice@example.org poppassd client=127.0.0.1 result=changed"]
        )
    }

    func testRoundcubeDriverShowsTheReasonOfAPolicyRefusalAndNothingChanges() throws {
        let fixture = try start()
        let outcome = try RoundcubeDriver.save(
            port: fixture.poppassdPort,
            user: "alice",
            current: "alice-old-pw",
            new: "password1"
        )
        XCTAssertEqual(
            outcome,
            .error("the new password is too common: it is on a list of passwords attackers try first")
        )
        XCTAssertTrue(try fixture.verify("alice", "alice-old-pw"))
    }

    func testWrongPasswordAndUnknownUserGetTheSameReplies() throws {
        let fixture = try start()
        var transcripts: [[String]] = []
        for user in ["alice", "nobody"] {
            let client = try LineClient(port: fixture.poppassdPort)
            var transcript = [try client.readLine() ?? "(closed)"]
            for line in ["user \(user)", "pass wrong-password", "newpass new horse battery"] {
                try client.writeLine(line)
                transcript.append(try client.readLine() ?? "(closed)")
            }
            XCTAssertTrue(client.isClosedByServer())
            transcripts.append(transcript)
        }
        XCTAssertEqual(transcripts[0], transcripts[1])
        XCTAssertEqual(transcripts[0].last, "500 the current password is not right")
    }

    func testUnknownUserAndWrongPasswordTakeComparableTime() throws {
        // Distinct passwords count as distinct failures: the delays are switched off to time the work alone.
        let fixture = try start { $0.failurePolicy = AuthFailurePolicy(freeFailures: 10_000) }
        func timeNewpass(_ user: String, _ attempt: Int) throws -> Double {
            let client = try LineClient(port: fixture.poppassdPort)
            _ = try client.readLine()
            try client.writeLine("user \(user)")
            _ = try client.readLine()
            try client.writeLine("pass wrong-\(attempt)")
            _ = try client.readLine()
            let start = DispatchTime.now().uptimeNanoseconds
            try client.writeLine("newpass new horse battery")
            XCTAssertEqual(try client.readLine(), "500 the current password is not right")
            return Double(DispatchTime.now().uptimeNanoseconds - start)
        }
        var known: [Double] = []
        var unknown: [Double] = []
        for attempt in 0..<15 {
            known.append(try timeNewpass("alice", attempt))
            unknown.append(try timeNewpass("nobody-\(attempt)", attempt))
        }
        let medians = [known, unknown].map { $0.sorted()[$0.count / 2] }
        let ratio = (medians.min() ?? 0) / (medians.max() ?? 1)
        XCTAssertGreaterThan(ratio, 0.3, "medians: wrong password \(medians[0]) ns, unknown user \(medians[1]) ns")
    }

    func testAClientThatStopsMidDialogueIsCutOffAndNothingChanges() throws {
        let fixture = try start {
            $0.lineTimeout = .milliseconds(300)
            $0.sessionTimeout = .seconds(2)
        }
        let client = try LineClient(port: fixture.poppassdPort)
        _ = try client.readLine()
        try client.writeLine("user alice")
        _ = try client.readLine()
        try client.writeLine("pass alice-old-pw")
        _ = try client.readLine()
        try client.send(Array("newpass new horse battery".utf8))  // no line ending: never complete
        let start = Date()
        XCTAssertEqual(try client.readLine(), "500 timeout, closing connection")
        XCTAssertTrue(client.isClosedByServer())
        XCTAssertLessThan(Date().timeIntervalSince(start), 1.5)
        XCTAssertTrue(try fixture.verify("alice", "alice-old-pw"))
        XCTAssertTrue(fixture.auditRecords.isEmpty)
    }

    func testASlowDripIsCutOffByTheDialogueTimeout() throws {
        let fixture = try start {
            $0.lineTimeout = .milliseconds(400)
            $0.sessionTimeout = .milliseconds(900)
            $0.sessionLimits = PoppassdSession.Limits(maximumErrors: 100, failurePause: .zero)
        }
        let client = try LineClient(port: fixture.poppassdPort)
        _ = try client.readLine()
        let start = Date()
        // Each line comes within the line timeout; the dialogue as a whole does not end.
        for _ in 0..<6 {
            try? client.writeLine("noop")
            Thread.sleep(forTimeInterval: 0.25)
        }
        var replies: [String] = []
        while let reply = try client.readLine() { replies.append(reply) }
        XCTAssertEqual(replies.last, "500 timeout, closing connection")
        XCTAssertLessThan(Date().timeIntervalSince(start), 2.5)
    }

    func testOverlongLineIsRefusedAndTheConnectionClosed() throws {
        let fixture = try start()
        let client = try LineClient(port: fixture.poppassdPort)
        _ = try client.readLine()
        try client.writeLine("user " + String(repeating: "a", count: PoppassdSession.maximumLineLength))
        XCTAssertEqual(try client.readLine(), "500 line too long")
        XCTAssertTrue(client.isClosedByServer())
    }

    func testRepeatedFailuresFromOneAddressGrowTheDelayThenAreRefused() throws {
        let fixture = try start {
            $0.failurePolicy = AuthFailurePolicy(
                freeFailures: 1,
                baseDelay: .milliseconds(300),
                maximumDelay: .milliseconds(1200)
            )
        }
        var durations: [TimeInterval] = []
        for attempt in 0..<4 {
            let start = Date()
            let outcome = try RoundcubeDriver.save(
                port: fixture.poppassdPort,
                user: "alice",
                current: "guess-\(attempt)",
                new: "new horse battery"
            )
            durations.append(Date().timeIntervalSince(start))
            XCTAssertEqual(outcome, .error("the current password is not right"))
        }
        // The first failure is free; the answers to the next ones wait 300, 600 and 1200 ms.
        XCTAssertLessThan(durations[0], 0.25)
        XCTAssertGreaterThanOrEqual(durations[1], 0.28)
        XCTAssertGreaterThanOrEqual(durations[2], 0.58)
        XCTAssertGreaterThanOrEqual(durations[3], 1.18)
        // The delay has reached 1200 ms: refused without looking at the password, even the right one.
        let refused = try RoundcubeDriver.save(
            port: fixture.poppassdPort,
            user: "alice",
            current: "alice-old-pw",
            new: "new horse battery"
        )
        XCTAssertEqual(refused, .error("too many failed attempts: try again later"))
        XCTAssertTrue(try fixture.verify("alice", "alice-old-pw"))
    }

    /// Guesses for one user from many addresses slow down on that user, yet its owner, with the right password from an
    /// address without failures, changes it at once: the user's count delays wrong answers and never refuses.
    func testFailuresForOneUserAcrossAddressesAreSlowedAndTheOwnerStillChanges() throws {
        let fixture = try start {
            $0.failurePolicy = AuthFailurePolicy(
                freeFailures: 2,
                baseDelay: .milliseconds(400),
                maximumDelay: .milliseconds(800)
            )
        }
        // One guess from each address: no address is slowed down, the user is.
        var durations: [TimeInterval] = []
        for (index, address) in ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"].enumerated() {
            let start = Date()
            let outcome = try RoundcubeDriver.save(
                port: fixture.poppassdPort,
                source: address,
                user: "alice",
                current: "guess-\(index)",
                new: "new horse battery"
            )
            durations.append(Date().timeIntervalSince(start))
            XCTAssertEqual(outcome, .error("the current password is not right"), address)
        }
        XCTAssertLessThan(durations[1], 0.35)
        XCTAssertGreaterThanOrEqual(durations[2], 0.38)
        XCTAssertGreaterThanOrEqual(durations[3], 0.78)
        let start = Date()
        let fromNewAddress = try RoundcubeDriver.save(
            port: fixture.poppassdPort,
            source: "127.0.0.6",
            user: "alice",
            current: "alice-old-pw",
            new: "new horse battery"
        )
        XCTAssertEqual(fromNewAddress, .success)
        XCTAssertLessThan(Date().timeIntervalSince(start), 0.35, "the owner is not held up by the guesses")
        // Another user from those addresses is not affected.
        let bob = try RoundcubeDriver.save(
            port: fixture.poppassdPort,
            source: "127.0.0.2",
            user: "bob",
            current: "bob-password-1",
            new: "bob-password-2"
        )
        XCTAssertEqual(bob, .success)
    }

    func testTheSameWrongPasswordRetriedCountsOnce() throws {
        let fixture = try start {
            $0.failurePolicy = AuthFailurePolicy(freeFailures: 1, baseDelay: .seconds(5), maximumDelay: .seconds(5))
        }
        for _ in 0..<5 {
            let outcome = try RoundcubeDriver.save(
                port: fixture.poppassdPort,
                user: "alice",
                current: "saved-old-password",
                new: "new horse battery"
            )
            XCTAssertEqual(outcome, .error("the current password is not right"))
        }
        let outcome = try RoundcubeDriver.save(
            port: fixture.poppassdPort,
            user: "alice",
            current: "alice-old-pw",
            new: "new horse battery"
        )
        XCTAssertEqual(outcome, .success)
    }

    func testImplicitTLSListenerSpeaksTheSameDialogue() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") else {
            throw XCTSkip("the openssl CLI is not installed")
        }
        let directory = NSTemporaryDirectory() + "poppassd-tls-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: directory) }
        let made = runProcess(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                "-keyout", directory + "/key.pem", "-out", directory + "/cert.pem", "-subj", "/CN=localhost",
            ]
        )
        XCTAssertEqual(made.status, 0, made.output)
        let fixture = try start {
            $0.listeners = [.init(host: "127.0.0.1", port: 0, implicitTLS: true)]
            $0.tls = ServerTLSConfiguration(
                certificateChainPath: directory + "/cert.pem",
                privateKeyPath: directory + "/key.pem"
            )
        }
        let client = """
            import socket, ssl, sys
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            s = context.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10))
            f = s.makefile("rb")
            print(f.readline().decode().rstrip())
            for line in sys.argv[2:]:
                s.sendall((line + "\\r\\n").encode())
                print(f.readline().decode().rstrip())
            """
        let script = directory + "/client.py"
        try Data(client.utf8).write(to: URL(fileURLWithPath: script))
        let result = runProcess(
            "/usr/bin/python3",
            [script, "\(fixture.poppassdPort)", "user alice", "pass alice-old-pw", "newpass new horse battery"]
        )
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertEqual(result.output.split(separator: "\n").last, "200 Password changed, thank-you.")
        XCTAssertTrue(try fixture.verify("alice", "new horse battery"))
    }

    func testAPlaintextListenerOffLoopbackIsRefused() throws {
        let changer = PasswordChanger(
            store: CredentialStore(backend: MemoryBackend()),
            defaultRealm: "example.org",
            audit: { _ in }
        )
        XCTAssertThrowsError(
            try PoppassdServer(
                configuration: PoppassdServerConfiguration(listeners: [
                    .init(host: "0.0.0.0", port: 0, implicitTLS: false)
                ]),
                changer: changer,
                logger: Logger(label: "test")
            )
        ) { error in
            XCTAssertEqual(error as? PasswordServiceError, .plaintextNotLoopback("0.0.0.0:0"))
        }
    }

    func testPasswordChangesUnderLoadCauseNoAuthenticationFailures() throws {
        var accounts = users
        accounts["dave"] = "dave-password-0"
        let fixture = try PasswordServiceFixture(users: accounts)
        addTeardownBlock { fixture.stop() }
        let deadline = Date().addingTimeInterval(6)
        let failures = Mutex<[String]>([])
        let logins = Mutex(0)
        let changes = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 3) { worker in
            if worker == 2 {
                var current = "dave-password-0"
                for round in 1...40 where Date() < deadline {
                    let new = "dave-password-\(round)"
                    let outcome = try? RoundcubeDriver.save(
                        port: fixture.poppassdPort,
                        user: "dave",
                        current: current,
                        new: new
                    )
                    guard outcome == .success else {
                        failures.withLock { $0.append("change \(round): \(String(describing: outcome))") }
                        return
                    }
                    current = new
                    changes.withLock { $0 += 1 }
                }
                return
            }
            let (user, password) = worker == 0 ? ("bob", "bob-password-1") : ("carol", "carol-password-1")
            for _ in 0..<400 where Date() < deadline {
                do {
                    let code = try SMTPPlainLogin.authenticate(port: fixture.smtpPort, user: user, password: password)
                    if code != 235 { failures.withLock { $0.append("\(user): \(code)") } }
                    logins.withLock { $0 += 1 }
                } catch {
                    failures.withLock { $0.append("\(user): \(error)") }
                }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, [])
        XCTAssertGreaterThan(changes.withLock { $0 }, 5)
        XCTAssertGreaterThan(logins.withLock { $0 }, 50)
    }
}
