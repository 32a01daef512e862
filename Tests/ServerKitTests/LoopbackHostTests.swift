import XCTest

@testable import ServerKit

/// The loopback test every service uses: listeners allowed to carry passwords in the clear, relays without TLS.
final class LoopbackHostTests: XCTestCase {
    func testLoopbackIsAnAddressOfTheLoopbackInterfaceOrLocalhostOnly() {
        for host in ["127.0.0.1", "127.8.9.10", "::1", "localhost", "LOCALHOST", "::ffff:127.0.0.1"] {
            XCTAssertTrue(isLoopbackHost(host), host)
        }
        for host in ["127.example.org", "192.0.2.2", "10.0.0.1", "::", "::2", "mail.example.org", "0.0.0.0"] {
            XCTAssertFalse(isLoopbackHost(host), host)
        }
    }
}
