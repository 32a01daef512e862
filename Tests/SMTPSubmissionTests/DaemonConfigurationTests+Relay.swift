import Foundation
import SMTPSubmission
import ServerKitTestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The daemon's relay sink end to end: a message submitted to the demo goes on through STARTTLS, verified against
/// `relay_ca_file` and `relay_tls_name`, with AUTH from `relay_auth_file`, to our own server started in-process.
extension DaemonConfigurationTests {
    func testDemoRelaysThroughSTARTTLSWithAUTHFromTheSecretsFile() async throws {
        let binary = try XCTUnwrap(Self.binary, "sasl-smtpd is not built beside the tests")
        var session = try SMTPSessionConfiguration.serverTest()
        // The next hop trusts its relay client to send as the demo's users.
        session.senderPolicy = SenderPolicy(allowsAnySender: true)
        let nextHop = try await TestServer.start(kinds: [.submission], sessionConfiguration: session)
        addTeardownBlock { await nextHop.stop() }

        let directory = try SinkTestSupport.makeDirectory(self)
        let secrets = directory + "/relay-auth"
        try "alice\n\(SessionFixture.password)\n".write(toFile: secrets, atomically: true, encoding: .utf8)
        chmod(secrets, 0o600)
        let (daemon, errors, submission, _) = try startDemo(
            directory,
            extra: [
                "--set", "sink=smtp:127.0.0.1:\(nextHop.port(0))", "--set", "relay_tls=required",
                "--set", "relay_ca_file=\(try TestCertificate.files().certificatePath)",
                "--set", "relay_tls_name=mail.example.org", "--set", "relay_auth_file=\(secrets)",
            ]
        )
        try "demo-password\n".write(toFile: directory + "/password", atomically: true, encoding: .utf8)
        let result = await runProcess(
            binary,
            [
                "smtp-test", "--host", "127.0.0.1", "--port", String(submission), "--starttls", "--cafile",
                directory + "/tls/cert.pem", "--user", "demo@demo.local", "--password-file", directory + "/password",
                "--to", "bob@example.net",
            ]
        )
        XCTAssertEqual(result.status, 0, result.standardOutput + result.standardError)
        let received = await nextHop.sink.waitForMessages(1)
        XCTAssertEqual(received.count, 1)
        XCTAssertEqual(received.first?.authenticatedUser, "alice@example.org")
        XCTAssertEqual(received.first?.sender, "demo@demo.local")
        XCTAssertEqual(received.first?.recipients, ["bob@example.net"])
        XCTAssertTrue(nextHop.logs.text.contains("smtp.tls=yes"), nextHop.logs.text)
        XCTAssertFalse(nextHop.logs.text.contains(SessionFixture.password))

        kill(daemon.processIdentifier, SIGTERM)
        daemon.waitUntilExit()
        let log = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(log.contains("message accepted"), log)
        XCTAssertFalse(log.contains(SessionFixture.password), log)
    }
}
