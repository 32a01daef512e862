import XCTest

@testable import SMTPSubmission

final class SMTPAddressSyntaxTests: XCTestCase {
    func testDotStringMailboxes() {
        XCTAssertEqual(SMTPMailbox(parsing: "alice@example.org")?.localPart, "alice")
        XCTAssertEqual(SMTPMailbox(parsing: "a.b+tag@example.org")?.localPart, "a.b+tag")
        XCTAssertEqual(SMTPMailbox(parsing: "!#$%&'*+-/=?^_`{|}~@example.org")?.domain, "example.org")
        XCTAssertNil(SMTPMailbox(parsing: ".alice@example.org"))
        XCTAssertNil(SMTPMailbox(parsing: "alice.@example.org"))
        XCTAssertNil(SMTPMailbox(parsing: "al..ice@example.org"))
        XCTAssertNil(SMTPMailbox(parsing: "alice"))
        XCTAssertNil(SMTPMailbox(parsing: "@example.org"))
        XCTAssertNil(SMTPMailbox(parsing: "alice@"))
        XCTAssertNil(SMTPMailbox(parsing: "al ice@example.org"))
        XCTAssertNil(SMTPMailbox(parsing: "al(ice)@example.org"))
    }

    func testQuotedStringMailboxes() {
        XCTAssertEqual(SMTPMailbox(parsing: "\"john doe\"@example.org")?.localPart, "\"john doe\"")
        XCTAssertEqual(SMTPMailbox(parsing: "\"john.doe\"@example.org")?.localPart, "john.doe")
        XCTAssertEqual(SMTPMailbox(parsing: "\"a\\\\b\"@example.org")?.unquotedLocalPart, "a\\b")
        XCTAssertNil(SMTPMailbox(parsing: "\"unterminated@example.org"))
        XCTAssertNil(SMTPMailbox(parsing: "\"a\"b@example.org"))
    }

    func testDomainsFollowTheLetterDigitHyphenRule() {
        XCTAssertNotNil(SMTPMailbox(parsing: "a@x"))
        XCTAssertNotNil(SMTPMailbox(parsing: "a@3com.example"))
        XCTAssertNotNil(SMTPMailbox(parsing: "a@xn--bcher-kva.example"))
        XCTAssertNil(SMTPMailbox(parsing: "a@-x.example"))
        XCTAssertNil(SMTPMailbox(parsing: "a@x-.example"))
        XCTAssertNil(SMTPMailbox(parsing: "a@x_y.example"))
        XCTAssertNil(SMTPMailbox(parsing: "a@example.org."))
        XCTAssertNil(SMTPMailbox(parsing: "a@.example.org"))
    }

    func testLabelAndDomainLengthsAreBounded() {
        let label63 = String(repeating: "a", count: 63)
        XCTAssertNotNil(SMTPMailbox(parsing: "a@\(label63).example"))
        XCTAssertNil(SMTPMailbox(parsing: "a@\(label63)b.example"))
        let longDomain = Array(repeating: String(repeating: "b", count: 50), count: 6).joined(separator: ".")
        XCTAssertGreaterThan(longDomain.utf8.count, 255)
        XCTAssertNil(SMTPMailbox(parsing: "a@\(longDomain)"))
    }

    func testPathLongerThan256BytesIsRefused() throws {
        let local = String(repeating: "l", count: 240)
        XCTAssertNoThrow(try SMTPCommandParser.parse(Array("MAIL FROM:<\(local)@example.org>".utf8)))
        let tooLong = String(repeating: "l", count: 250)
        XCTAssertThrowsError(try SMTPCommandParser.parse(Array("MAIL FROM:<\(tooLong)@example.org>".utf8)))
    }

    func testIPv4AddressLiterals() {
        XCTAssertEqual(SMTPMailbox(parsing: "a@[192.0.2.1]")?.domain, "[192.0.2.1]")
        XCTAssertNotNil(SMTPMailbox(parsing: "a@[255.255.255.255]"))
        XCTAssertNil(SMTPMailbox(parsing: "a@[256.1.1.1]"))
        XCTAssertNil(SMTPMailbox(parsing: "a@[1.2.3]"))
        XCTAssertNil(SMTPMailbox(parsing: "a@[1.2.3.4.5]"))
        XCTAssertNil(SMTPMailbox(parsing: "a@[1.2.3.1234]"))
        XCTAssertNil(SMTPMailbox(parsing: "a@[1..3.4]"))
    }

    func testIPv6AddressLiterals() {
        for valid in [
            "IPv6:2001:db8:0:0:0:0:0:1", "IPv6:2001:db8::1", "IPv6:::1", "IPv6:::", "IPv6:fe80::",
            "IPv6:::ffff:192.0.2.1", "IPv6:1:2:3:4:5:6:192.0.2.1", "ipv6:2001:DB8::1", "IPv6:1:2:3::4:5:6",
        ] {
            XCTAssertNotNil(SMTPMailbox(parsing: "a@[\(valid)]"), valid)
        }
        for invalid in [
            "IPv6:1:2:3:4:5:6:7", "IPv6:1:2:3:4:5:6:7:8:9", "IPv6:1::2::3", "IPv6:12345::1", "IPv6::1",
            "IPv6:1:", "IPv6:1:2:3:4:5:6:7::", "IPv6:1:2:3:4:5:6:7:192.0.2.1", "IPv6:g::1", "IPv6:",
            "IPv6:1:2:3:4:5::192.0.2.1", "2001:db8::1", "tag:content",
        ] {
            XCTAssertNil(SMTPMailbox(parsing: "a@[\(invalid)]"), invalid)
        }
    }

    func testUTF8MailboxesAreRecognisedAsNonASCII() {
        let mailbox = SMTPMailbox(parsing: "δοκιμή@παράδειγμα.δοκιμή")
        XCTAssertNotNil(mailbox)
        XCTAssertEqual(mailbox?.isASCII, false)
        XCTAssertEqual(SMTPMailbox(parsing: "alice@example.org")?.isASCII, true)
    }

    func testDomainComparisonIgnoresASCIICase() {
        XCTAssertEqual(SMTPMailbox(parsing: "alice@Example.ORG")?.hasDomain("example.org"), true)
        XCTAssertEqual(SMTPMailbox(parsing: "alice@example.com")?.hasDomain("example.org"), false)
    }
}
