import SASLDB
import XCTest

@testable import SMTPSubmission

final class SenderPolicyTests: XCTestCase {
    private let alice = SessionFixture.user("alice@example.org")
    private let bob = SessionFixture.user("bob@example.org")

    private func address(_ text: String) -> SMTPMailbox {
        guard let mailbox = SMTPMailbox(parsing: text) else { preconditionFailure("bad address \(text)") }
        return mailbox
    }

    func testOwnAddressIsAllowedWithTheDomainComparedWithoutCase() {
        let policy = SenderPolicy()
        XCTAssertTrue(policy.permits(address("alice@example.org"), for: alice))
        XCTAssertTrue(policy.permits(address("alice@EXAMPLE.Org"), for: alice))
        XCTAssertTrue(policy.permits(address("\"alice\"@example.org"), for: alice))
    }

    func testLocalPartIsComparedExactly() {
        XCTAssertFalse(SenderPolicy().permits(address("Alice@example.org"), for: alice))
    }

    func testAnotherUsersAddressIsRefused() {
        let policy = SenderPolicy()
        XCTAssertFalse(policy.permits(address("bob@example.org"), for: alice))
        XCTAssertFalse(policy.permits(address("alice@example.net"), for: alice))
        XCTAssertFalse(policy.permits(address("alice@[192.0.2.1]"), for: alice))
    }

    func testUserWithoutRealmOwnsNoAddress() {
        let user = UserID(authid: Array("alice".utf8), realm: [])
        XCTAssertFalse(SenderPolicy().permits(address("alice@example.org"), for: user))
    }

    func testNullSenderIsAllowedByDefaultAndCanBeRefused() {
        XCTAssertTrue(SenderPolicy().permits(nil, for: alice))
        XCTAssertFalse(SenderPolicy(allowsNullSender: false).permits(nil, for: alice))
    }

    func testAnySenderCanBeAllowed() {
        XCTAssertTrue(SenderPolicy(allowsAnySender: true).permits(address("ceo@example.com"), for: alice))
    }

    func testOwnAddressCanBeDisallowedLeavingOnlyTheMap() throws {
        var map = SenderLoginMap()
        try map.allow([alice], toUse: "a.smith@example.org")
        let policy = SenderPolicy(allowsOwnAddress: false, loginMap: map)
        XCTAssertFalse(policy.permits(address("alice@example.org"), for: alice))
        XCTAssertTrue(policy.permits(address("a.smith@example.org"), for: alice))
    }

    func testLoginMapGrantsAddressesAndDomains() throws {
        let map = try SenderLoginMap(
            parsing: """
                # shared mailboxes
                sales@example.org      alice@example.org, bob@example.org
                @example.net           bob

                """,
            defaultRealm: "example.org"
        )
        let policy = SenderPolicy(loginMap: map)
        XCTAssertTrue(policy.permits(address("sales@example.org"), for: alice))
        XCTAssertTrue(policy.permits(address("sales@Example.Org"), for: bob))
        XCTAssertTrue(policy.permits(address("anything@example.net"), for: bob))
        XCTAssertFalse(policy.permits(address("anything@example.net"), for: alice))
        XCTAssertFalse(policy.permits(address("info@example.org"), for: alice))
    }

    func testTheMostSpecificEntryDecides() throws {
        let map = try SenderLoginMap(
            parsing: "@example.org alice\nceo@example.org bob\n",
            defaultRealm: "example.org"
        )
        let policy = SenderPolicy(loginMap: map)
        XCTAssertTrue(policy.permits(address("info@example.org"), for: alice))
        XCTAssertFalse(policy.permits(address("ceo@example.org"), for: alice))
        XCTAssertTrue(policy.permits(address("ceo@example.org"), for: bob))
    }

    func testContinuationLinesCommentsAndCRLF() throws {
        let map = try SenderLoginMap(
            parsing: "team@example.org alice,\r\n   bob\r\n# carol@example.org carol\r\n",
            defaultRealm: "example.org"
        )
        XCTAssertEqual(map.users(for: address("team@example.org")), [alice, bob])
        XCTAssertNil(map.users(for: address("carol@example.org")))
    }

    func testUsersInOtherRealmsAreKeptApart() throws {
        let map = try SenderLoginMap(parsing: "x@example.org alice@other.example", defaultRealm: "example.org")
        XCTAssertFalse(SenderPolicy(loginMap: map).permits(address("x@example.org"), for: alice))
    }

    func testBadMapLinesAreReportedWithTheirNumber() {
        let cases = [
            ("ok@example.org alice\nlonely@example.org\n", 2),
            ("not an address alice", 1),
            ("\n\nbad@@example.org alice", 3),
            ("@-bad.example alice", 1),
        ]
        for (text, line) in cases {
            XCTAssertThrowsError(try SenderLoginMap(parsing: text, defaultRealm: "example.org"), text) { error in
                XCTAssertEqual((error as? SenderLoginMapError)?.line, line, text)
            }
        }
    }

    func testEmptyMapGrantsNothing() throws {
        let map = try SenderLoginMap(parsing: "# nothing yet\n\n", defaultRealm: "example.org")
        XCTAssertTrue(map.isEmpty)
        XCTAssertNil(map.users(for: address("alice@example.org")))
    }
}
