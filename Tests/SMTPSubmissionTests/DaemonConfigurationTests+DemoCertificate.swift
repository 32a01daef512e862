import Foundation
import ServerKitTestSupport
import XCTest

/// The demo's certificate: ECDSA P-256, the kind the documentation recommends, and the one its STARTTLS serves.
extension DaemonConfigurationTests {
    func testDemoMakesAnECDSAP256CertificateAndServesItOverSTARTTLS() async throws {
        let directory = try SinkTestSupport.makeDirectory(self)
        let (_, _, submission, _) = try startDemo(directory)
        let certificate = await runProcess(
            "/usr/bin/openssl",
            ["x509", "-in", directory + "/tls/cert.pem", "-noout", "-text"]
        )
        XCTAssertTrue(
            certificate.standardOutput.contains("Public Key Algorithm: id-ecPublicKey"),
            certificate.standardOutput
        )
        XCTAssertTrue(certificate.standardOutput.contains("NIST CURVE: P-256"), certificate.standardOutput)

        // openssl names the signature the server made in the handshake: ECDSA over P-256, not RSA.
        let handshake = await runProcess(
            "/usr/bin/openssl",
            [
                "s_client", "-connect", "127.0.0.1:\(submission)", "-starttls", "smtp", "-tls1_3", "-CAfile",
                directory + "/tls/cert.pem", "-verify_return_error",
            ],
            input: Data("QUIT\r\n".utf8)
        )
        let output = handshake.standardOutput + handshake.standardError
        XCTAssertTrue(output.contains("Peer signature type: ECDSA"), output)
        XCTAssertTrue(output.contains("Verify return code: 0 (ok)"), output)
    }
}
