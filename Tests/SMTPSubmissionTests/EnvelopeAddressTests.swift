import XCTest

@testable import SMTPSubmission

final class EnvelopeAddressTests: XCTestCase {
    func testAcceptsRFC5321Mailboxes() {
        for address in [
            "alice@example.org", "a.b+tag@sub.example.org", "Postmaster", "user@[192.0.2.1]",
            "user@[IPv6:2001:db8::1]", "\"quoted\"@example.org", "o'brien@example.ie", "jörg@bücher.de",
            "x@localhost",
        ] {
            XCTAssertTrue(EnvelopeAddress.isValidMailbox(address), address)
        }
    }

    func testRefusesOptionsSpacesControlsAndBrokenSyntax() {
        for address in [
            "", "-oQ/tmp", "-f@example.org", "a b@example.org", "a\t@example.org", "a@example.org\r\n",
            "\"a b\"@example.org", "a@", "@example.org", "a..b@example.org", ".a@example.org", "a.@example.org",
            "a@-example.org", "a@example-.org", "a@example..org", "a@[1.2.3]", "a@[300.1.1.1]", "a@[+1.2.3.4]",
            "no-at-sign", "a@exa_mple.org", String(repeating: "a", count: 65) + "@example.org",
            "a@" + String(repeating: "b", count: 64) + ".org", "a\u{7F}@example.org",
        ] {
            XCTAssertFalse(EnvelopeAddress.isValidMailbox(address), address)
        }
    }

    func testNullSenderIsAllowedButNotAsRecipient() throws {
        XCTAssertNoThrow(try EnvelopeAddress.validate(sender: "", recipients: ["bob@example.net"]))
        XCTAssertThrowsError(try EnvelopeAddress.validate(sender: "", recipients: [""]))
    }
}
