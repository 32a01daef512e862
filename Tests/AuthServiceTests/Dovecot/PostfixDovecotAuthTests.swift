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
/// `reject_sender_login_mismatch`, and a restarting server gives 454s, not crashes.
final class PostfixDovecotAuthTests: XCTestCase {
    private static let login = "alice@example.org"
    private static let password = "correct horse 1"

    private var directory = ""
    private var store: CredentialStore?

    override func setUp() async throws {
        try PostfixInstance.requirePostfix()
        var template = Array("/tmp/sasldb-dovecot-pf-XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else { throw TestSupportError("mkdtemp: errno \(errno)") }
        directory = String(cString: created)
        var configuration = StoreConfiguration()
        configuration.location = .file(path: directory + "/sasldb2")
        configuration.secretPolicy = SecretPolicy(
            plaintext: true,
            cramMD5: true,
            digestMD5: true,
            scram: .sha256,
            scramIterations: 4096
        )
        let store = StoreFactory.makeStore(configuration)
        try store.setPassword(Array(Self.password.utf8), for: UserID(parsing: Self.login, defaultRealm: "example.org"))
        self.store = store
    }

    override func tearDown() async throws {
        try? FileManager.default.removeItem(atPath: directory)
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

    /// Runs `body` while `server` serves; stops it gracefully after.
    private func serving(_ server: DovecotAuthServer, _ body: () async throws -> Void) async throws {
        let group = ServiceGroup(services: [server], logger: Logger(label: "dovecot-postfix-test"))
        let task = Task { try await group.run() }
        _ = try await server.listeningAddresses()
        do {
            try await body()
        } catch {
            await group.triggerGracefulShutdown()
            _ = await task.result
            throw error
        }
        await group.triggerGracefulShutdown()
        try await task.value
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
            XCTAssertEqual(result.status, 0, "\(result.standardOutput)\n\(result.standardError)\n\(postfix.log())")
            let authenticated = await postfix.waitForLog("sasl_method=SCRAM-SHA-256, sasl_username=\(Self.login)")
            XCTAssertTrue(authenticated, postfix.log())
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
            try store.setPassword(Array("a new password 2".utf8), for: UserID(parsing: Self.login, defaultRealm: "example.org"))
            let old = try await Self.swaks(port: postfix.port, mechanism: "PLAIN")
            XCTAssertNotEqual(old.status, 0, old.transcript)
            let new = try await Self.swaks(port: postfix.port, mechanism: "PLAIN", password: "a new password 2")
            XCTAssertEqual(new.status, 0, new.transcript)
        }
    }

    func testRestartingServerUnderLoadGives454NotCrashes() async throws {
        let postfix = try await startPostfix()
        try await serving(try makeServer(for: postfix)) {
            let warm = try await Self.swaks(port: postfix.port, mechanism: "PLAIN")
            XCTAssertEqual(warm.status, 0, warm.transcript)
        }
        // The server is gone (its socket removed): Postfix's held connection is dropped, a reconnect fails.
        let results = try await withThrowingTaskGroup(of: (Int32, String).self) { group in
            let port = postfix.port
            for _ in 0..<4 { group.addTask { try await Self.swaks(port: port, mechanism: "PLAIN") } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        for (status, transcript) in results {
            XCTAssertNotEqual(status, 0)
            XCTAssertTrue(transcript.contains("<~* 454 4.7.0 Temporary authentication failure"), transcript)
        }
        try await serving(try makeServer(for: postfix)) {
            let again = try await Self.swaks(port: postfix.port, mechanism: "PLAIN")
            XCTAssertEqual(again.status, 0, "Postfix reconnects to the new server:\n\(again.transcript)")
        }
        XCTAssertFalse(postfix.log().contains("fatal:"), postfix.log())
        XCTAssertFalse(postfix.log().contains("panic:"), postfix.log())
    }
}
