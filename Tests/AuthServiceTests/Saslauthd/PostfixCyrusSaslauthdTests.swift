import Foundation
import ServerKitTestSupport
import XCTest

/// Postfix's smtpd with Cyrus SASL (`pwcheck_method: saslauthd`) against our socket, driven by swaks over STARTTLS.
final class PostfixCyrusSaslauthdTests: XCTestCase {
    private func swaks() throws -> String {
        guard let swaks = ProcessRunner.which("swaks") else {
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                XCTFail("swaks is not installed: .ci/run must provide it")
            }
            throw XCTSkip("swaks is not installed")
        }
        return swaks
    }

    /// swaks's AUTH over STARTTLS, quitting after it; its transcript.
    private func authenticate(_ swaks: String, port: Int, mechanism: String, user: String, password: String) -> String {
        let result = ProcessRunner.run(
            swaks,
            [
                "--server", "127.0.0.1:\(port)", "--tls", "--auth", mechanism, "--auth-user", user,
                "--auth-password", password, "--quit-after", "AUTH", "--timeout", "30",
            ],
            timeout: 60
        )
        return result.standardOutput + result.standardError
    }

    func testPostfixWithCyrusSASLAuthenticatesThroughOurSocket() async throws {
        try CyrusPostfixInstance.requirePostfix()
        let swaks = try swaks()
        let fixture = try await SaslauthdFixture(users: ["alice": "right-Passw0rd"])
        let certificate = try TestCertificate.files()
        var instance: CyrusPostfixInstance?
        defer { instance?.stop() }
        let postfix = try CyrusPostfixInstance.start(saslauthdSocket: fixture.socketPath, certificate: certificate) {
            instance = $0
        }
        for mechanism in ["PLAIN", "LOGIN"] {
            let right = authenticate(
                swaks,
                port: postfix.port,
                mechanism: mechanism,
                user: "alice@example.org",
                password: "right-Passw0rd"
            )
            XCTAssertTrue(right.contains("<~  235 "), "\(mechanism):\n\(right)\n\(postfix.log())")
        }
        let wrong = authenticate(
            swaks,
            port: postfix.port,
            mechanism: "PLAIN",
            user: "alice@example.org",
            password: "wrong"
        )
        XCTAssertTrue(wrong.contains("<~* 535 "), wrong)
        let unknown = authenticate(
            swaks,
            port: postfix.port,
            mechanism: "PLAIN",
            user: "mallory@example.org",
            password: "wrong"
        )
        XCTAssertTrue(unknown.contains("<~* 535 "), unknown)
        // Postfix's Cyrus glue gives libsasl no client address: the failures count per account.
        XCTAssertEqual(fixture.failures.trackedAddressCount, 0)
        XCTAssertEqual(fixture.accountFailures.failureCount(for: "alice@example.org"), 1)
        XCTAssertEqual(fixture.accountFailures.failureCount(for: "mallory@example.org"), 1)
        await fixture.stop()
    }
}
