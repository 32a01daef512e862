import NIOSSL
import ServerKitTestSupport
import XCTest

@testable import ServerKit

final class CertificateHostNameTests: XCTestCase {
    func testAWildcardCoversExactlyOneLeftMostLabel() {
        let names = ["*.example.org", "mail.example.net"]
        XCTAssertTrue(CertificateHostName.matches("smtp.example.org", dnsNames: names, commonName: nil))
        XCTAssertTrue(CertificateHostName.matches("MAIL.Example.NET.", dnsNames: names, commonName: nil))
        XCTAssertFalse(CertificateHostName.matches("example.org", dnsNames: names, commonName: nil))
        XCTAssertFalse(CertificateHostName.matches("a.b.example.org", dnsNames: names, commonName: nil))
        XCTAssertFalse(CertificateHostName.matches(".example.org", dnsNames: names, commonName: nil))
        XCTAssertFalse(CertificateHostName.matches("example.net", dnsNames: names, commonName: nil))
    }

    func testTheCommonNameCountsOnlyWithoutDNSNames() {
        XCTAssertTrue(CertificateHostName.matches("relay.example.org", dnsNames: [], commonName: "relay.example.org"))
        XCTAssertFalse(
            CertificateHostName.matches(
                "relay.example.org",
                dnsNames: ["mail.example.org"],
                commonName: "relay.example.org"
            )
        )
    }

    /// The test certificate's IP address entry (127.0.0.1) is no name: NIOSSL would accept it for any name asked
    /// for over a connection to that address.
    func testAnAddressEntryIsNoName() throws {
        let files = try TestCertificate.files()
        let certificate = try XCTUnwrap(try NIOSSLCertificate.fromPEMFile(files.certificatePath).first)
        XCTAssertTrue(CertificateHostName.matches("mail.example.org", certificate: certificate))
        XCTAssertTrue(CertificateHostName.matches("localhost", certificate: certificate))
        XCTAssertFalse(CertificateHostName.matches("relay.example.net", certificate: certificate))
        XCTAssertFalse(CertificateHostName.matches("127.0.0.1", certificate: certificate))
    }
}
