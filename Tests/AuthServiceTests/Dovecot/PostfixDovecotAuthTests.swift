import Foundation
import Logging
import NIOCore
import SASLDB
import SASLMechanisms
import ServerKit
import ServerKitTestSupport
import ServiceLifecycle
import XCTest

@testable import AuthService

/// Debian's Postfix 3.7 with `smtpd_sasl_type = dovecot` pointed at our socket: real clients (swaks, gsasl) log in
/// through it over STARTTLS with every mechanism, a wrong password gets a generic 535, the login we return feeds
/// `reject_sender_login_mismatch`, and sessions caught by a server restart get 454, not a crash.
final class PostfixDovecotAuthTests: XCTestCase {
    private static let login = "alice@example.org"
    private static let password = "correct horse 1"

    private var directory = ""
    private var store: CredentialStore?

    override func setUp() async throws {
        try PostfixInstance.requirePostfix()
        directory = try makeTestDirectory(for: self)
        store = try makeTestStore(in: directory, users: [(Self.login, Self.password)], scramIterations: 4096)
    }

    // MARK: - Helpers

    /// Our server on the guide's `private/auth` of `postfix`'s queue directory, owned by Postfix's account, mode
    /// 0660, as the guide's `sasl-smtpd.conf` lines ask.
    private func makeServer(for postfix: PostfixInstance) throws -> DovecotAuthServer {
        let store = try XCTUnwrap(store)
        guard let account = getpwnam("postfix") else { throw XCTSkip("no postfix account") }
        let postfixInstance = postfix
        let context = SASLServerContext(lookup: store, hostName: "mail.example.org", defaultRealm: "example.org")
        return try DovecotAuthServer(
            configuration: DovecotAuthServerConfiguration(
                localSocket: .init(
                    path: postfixInstance.directory.appendingPathComponent("queue/private/auth").path,
                    owner: account.pointee.pw_uid,
                    group: account.pointee.pw_gid,
                    mode: 0o660
                ),
                connection: .init(context: context, digestHosts: .any),
                failureDelay: .milliseconds(100)
            ),
            logger: Logger(label: "dovecot-postfix-test")
        )
    }

    /// A Postfix smtpd on loopback with the guide's `main.cf` lines: AUTH after STARTTLS through `private/auth`, the
    /// sender login map in a text file instead of a `hash:` one.
    private func startPostfix() async throws -> PostfixInstance {
        let certificate = try TestCertificate.files()
        let senders = directory + "/senders"
        try "\(Self.login) \(Self.login)\n".write(toFile: senders, atomically: true, encoding: .utf8)
        let guide = try guideBlock("running-beside-postfix.md", "dovecot-main-cf")
        XCTAssertTrue(guide.contains("smtpd_sasl_path = private/auth"), "\(guide)")
        XCTAssertTrue(guide.contains("smtpd_sender_login_maps = hash:/etc/postfix/senders"), "\(guide)")
        let mainCF = """
            smtpd_tls_cert_file = \(certificate.certificatePath)
            smtpd_tls_key_file = \(certificate.keyPath)
            smtpd_tls_security_level = may

            """
            + guide.joined(separator: "\n").replacingOccurrences(
                of: "hash:/etc/postfix/senders",
                with: "texthash:\(senders)"
            ) + "\n"
        return try await PostfixInstance.start(mainCF: mainCF) { instance in
            addTeardownBlock { await instance.stop() }
        }
    }

    /// swaks through Postfix: STARTTLS, AUTH, MAIL FROM `from`, RCPT, QUIT.
    private static func swaks(
        port: Int,
        mechanism: String,
        password: String = PostfixDovecotAuthTests.password,
        from: String = PostfixDovecotAuthTests.login
    ) async throws -> (status: Int32, transcript: String) {
        guard let swaks = ProcessRunner.which("swaks") else { throw XCTSkip("swaks is not installed") }
        let result = await ProcessRunner.runInBackground(
            swaks,
            [
                "--server", "127.0.0.1", "--port", String(port), "--tls", "--ehlo", "client.example.net",
                "--auth", mechanism, "--auth-user", Self.login, "--auth-password", password,
                "--from", from, "--to", "bob@example.net", "--quit-after", "RCPT",
            ],
            timeout: 60
        )
        return (result.status, result.standardOutput + result.standardError)
    }

    // MARK: - Tests

    func testSwaksLogsInThroughPostfixWithEveryMechanism() async throws {
        let postfix = try await startPostfix()
        try await serving(try makeServer(for: postfix)) {
            for mechanism in ["PLAIN", "LOGIN", "CRAM-MD5", "DIGEST-MD5"] {
                let (status, transcript) = try await Self.swaks(port: postfix.port, mechanism: mechanism)
                XCTAssertEqual(status, 0, "\(mechanism):\n\(transcript)\n\(postfix.log())")
                XCTAssertTrue(transcript.contains("<~  235 "), "\(mechanism):\n\(transcript)")
            }
        }
    }

    func testGsaslLogsInThroughPostfixWithSCRAMSHA256() async throws {
        guard let gsasl = ProcessRunner.which("gsasl") else { throw XCTSkip("gsasl is not installed") }
        let certificate = try TestCertificate.files()
        let postfix = try await startPostfix()
        try await serving(try makeServer(for: postfix)) {
            let result = await ProcessRunner.runInBackground(
                gsasl,
                [
                    "--smtp", "--connect", "127.0.0.1:\(postfix.port)", "--hostname", "localhost", "--starttls",
                    "--x509-ca-file", certificate.certificatePath, "--mechanism", "SCRAM-SHA-256",
                    "--authentication-id", Self.login, "--password", Self.password, "--quiet", "--no-cb",
                ],
                timeout: 60
            )
            // gsasl offers only the mechanism asked for and fails when the server does not take it.
            XCTAssertEqual(result.status, 0, "\(result.standardOutput)\n\(result.standardError)\n\(postfix.log())")
        }
    }

    func testWrongPasswordGets535WithAGenericText() async throws {
        let postfix = try await startPostfix()
        try await serving(try makeServer(for: postfix)) {
            let (status, transcript) = try await Self.swaks(port: postfix.port, mechanism: "PLAIN", password: "wrong")
            XCTAssertNotEqual(status, 0)
            XCTAssertTrue(
                transcript.contains("<~* 535 5.7.8 Error: authentication failed: Authentication failed"),
                transcript
            )
        }
    }

    func testSenderLoginMismatchUsesTheLoginWeReturn() async throws {
        let postfix = try await startPostfix()
        try await serving(try makeServer(for: postfix)) {
            let own = try await Self.swaks(port: postfix.port, mechanism: "PLAIN")
            XCTAssertEqual(own.status, 0, own.transcript)
            let other = try await Self.swaks(port: postfix.port, mechanism: "PLAIN", from: "bob@example.org")
            XCTAssertNotEqual(other.status, 0)
            XCTAssertTrue(
                other.transcript.contains("Sender address rejected: not owned by user \(Self.login)"),
                other.transcript
            )
        }
    }

    func testPasswordChangedInTheStoreWorksAtTheNextLogin() async throws {
        let store = try XCTUnwrap(store)
        let postfix = try await startPostfix()
        try await serving(try makeServer(for: postfix)) {
            let before = try await Self.swaks(port: postfix.port, mechanism: "PLAIN")
            XCTAssertEqual(before.status, 0, before.transcript)
            try store.setPassword(
                Array("a new password 2".utf8),
                for: UserID(parsing: Self.login, defaultRealm: "example.org")
            )
            let old = try await Self.swaks(port: postfix.port, mechanism: "PLAIN")
            XCTAssertNotEqual(old.status, 0, old.transcript)
            let new = try await Self.swaks(port: postfix.port, mechanism: "PLAIN", password: "a new password 2")
            XCTAssertEqual(new.status, 0, new.transcript)
        }
    }

    /// Clients in the middle of their sessions (STARTTLS and EHLO done, Postfix connected to our socket) when the
    /// server stops: their AUTH gets 454 from Postfix (its connection to us is gone and it cannot reconnect), and
    /// once a server listens again the next login works, with no restart of Postfix.
    func testServerStoppingMidSessionGives454AndPostfixUsesTheNextServer() async throws {
        guard let python = ProcessRunner.which("python3") else { throw XCTSkip("python3 is not installed") }
        let postfix = try await startPostfix()
        let directory = self.directory
        let go = directory + "/go"
        let clients = 4
        let script = """
            import base64, os, smtplib, ssl, sys, time
            s = smtplib.SMTP("127.0.0.1", \(postfix.port), timeout=60)
            s.starttls(context=ssl._create_unverified_context())
            s.ehlo("client.example.net")
            open(sys.argv[1], "w").close()
            while not os.path.exists("\(go)"):
                time.sleep(0.05)
            code, text = s.docmd("AUTH", "PLAIN " + base64.b64encode(b"\\0\(Self.login)\\0\(Self.password)").decode())
            print(code, text.decode())
            """
        try await serving(try makeServer(for: postfix)) {
            let warm = try await Self.swaks(port: postfix.port, mechanism: "PLAIN")
            XCTAssertEqual(warm.status, 0, warm.transcript)
        }
        // The sessions start while no server listens would make Postfix's smtpd give up at once ("no SASL
        // authentication mechanisms"), as with Dovecot: start them with a server, stop it while they wait.
        let second = try makeServer(for: postfix)
        let group = ServiceGroup(services: [second], logger: Logger(label: "dovecot-postfix-test"))
        let task = Task { try await group.run() }
        _ = try await second.listeningAddresses()
        let sessions = Task {
            await withTaskGroup(of: ProcessRunner.Result.self) { tasks in
                for index in 0..<clients {
                    let ready = "\(directory)/ready-\(index)"
                    tasks.addTask { await ProcessRunner.runInBackground(python, ["-c", script, ready], timeout: 90) }
                }
                return await tasks.reduce(into: []) { $0.append($1) }
            }
        }
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(60)
        while (0..<clients).contains(where: { !FileManager.default.fileExists(atPath: "\(directory)/ready-\($0)") }),
            clock.now < deadline
        {
            try await Task.sleep(for: .milliseconds(50))
        }
        await group.triggerGracefulShutdown()
        try await task.value
        FileManager.default.createFile(atPath: go, contents: nil)
        for result in await sessions.value {
            XCTAssertTrue(
                result.standardOutput.hasPrefix("454 4.7.0 Temporary authentication failure"),
                result.standardOutput + result.standardError + postfix.log()
            )
        }
        try await serving(try makeServer(for: postfix)) {
            let again = try await Self.swaks(port: postfix.port, mechanism: "PLAIN")
            XCTAssertEqual(again.status, 0, "Postfix reconnects to the new server:\n\(again.transcript)")
        }
        XCTAssertFalse(postfix.log().contains("panic:"), postfix.log())
    }
}
