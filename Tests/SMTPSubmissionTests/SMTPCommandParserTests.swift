import XCTest

@testable import SMTPSubmission

final class SMTPCommandParserTests: XCTestCase {
    private func parse(_ line: String) throws -> SMTPCommand {
        try SMTPCommandParser.parse(Array(line.utf8))
    }

    private func refusal(_ line: [UInt8]) -> SMTPCommandError? {
        do {
            let command = try SMTPCommandParser.parse(line)
            XCTFail("parsed \(command)")
            return nil
        } catch {
            return error
        }
    }

    private func refusal(_ line: String) -> SMTPCommandError? {
        refusal(Array(line.utf8))
    }

    private func mailbox(_ local: String, _ domain: String) -> SMTPMailbox {
        SMTPMailbox(localPart: local, domain: domain)
    }

    // MARK: Verbs

    func testVerbsAreCaseInsensitive() throws {
        XCTAssertEqual(try parse("ehlo client.example"), .ehlo("client.example"))
        XCTAssertEqual(try parse("HeLo client.example"), .helo("client.example"))
        XCTAssertEqual(try parse("quit"), .quit)
        XCTAssertEqual(try parse("StartTLS"), .startTLS)
        XCTAssertEqual(try parse("rset"), .rset)
        XCTAssertEqual(try parse("data"), .data)
    }

    func testNOOPAndHELPTakeAnOptionalArgument() throws {
        XCTAssertEqual(try parse("NOOP"), .noop)
        XCTAssertEqual(try parse("NOOP anything at all"), .noop)
        XCTAssertEqual(try parse("HELP MAIL"), .help)
    }

    func testVRFYNeedsAnArgument() throws {
        XCTAssertEqual(try parse("VRFY alice"), .vrfy("alice"))
        XCTAssertReply(refusal("VRFY")?.reply, 501, "5.5.4")
    }

    func testCommandsWithoutParametersRefuseArguments() {
        for line in ["DATA now", "RSET x", "QUIT please", "STARTTLS x"] {
            XCTAssertReply(refusal(line)?.reply, 501, "5.5.4")
        }
    }

    func testTrailingSpacesAreTolerated() throws {
        XCTAssertEqual(try parse("DATA  "), .data)
        XCTAssertEqual(try parse("EHLO client.example "), .ehlo("client.example"))
    }

    func testUnknownVerbIs500AndKnownUnimplementedVerbIs502() {
        XCTAssertReply(refusal("FOO bar")?.reply, 500, "5.5.2")
        XCTAssertReply(refusal("")?.reply, 500, "5.5.2")
        XCTAssertReply(refusal(" EHLO x")?.reply, 500, "5.5.2")
        XCTAssertReply(refusal("EXPN staff")?.reply, 502, "5.5.1")
        XCTAssertReply(refusal("TURN")?.reply, 502, "5.5.1")
        XCTAssertEqual(refusal("EXPN staff")?.closesConnection, false)
    }

    func testBDATTakesASizeAndOptionallyLAST() throws {
        XCTAssertEqual(try parse("BDAT 100 LAST"), .bdat(size: 100, isLast: true))
        XCTAssertEqual(try parse("bdat 0 last"), .bdat(size: 0, isLast: true))
        XCTAssertEqual(try parse("BDAT 007"), .bdat(size: 7, isLast: false))
    }

    func testBDATWithoutAReadableSizeClosesTheConnection() {
        for line in [
            "BDAT", "BDAT x", "BDAT +1", "BDAT 1.5", "BDAT 9223372036854775808", "BDAT 1 FIRST", "BDAT 1 LAST 2",
        ] {
            XCTAssertReply(refusal(line)?.reply, 501, "5.5.4")
            XCTAssertEqual(refusal(line)?.closesConnection, true, line)
        }
    }

    func testHTTPRequestLineClosesTheConnection() {
        let error = refusal("GET / HTTP/1.1")
        XCTAssertReply(error?.reply, 421, "4.7.0")
        XCTAssertEqual(error?.closesConnection, true)
        XCTAssertEqual(refusal("POST /submit HTTP/1.0")?.closesConnection, true)
    }

    // MARK: Bytes

    func testNULByteIsRefused() {
        XCTAssertReply(refusal(Array("NOOP".utf8) + [0])?.reply, 500, "5.5.2")
        XCTAssertReply(refusal(Array("MAIL FROM:<a\u{0}b@example.org>".utf8))?.reply, 500, "5.5.2")
    }

    func testControlCharactersAreRefused() {
        XCTAssertReply(refusal("NOOP\tx")?.reply, 500, "5.5.2")
        XCTAssertReply(refusal(Array("NOOP".utf8) + [13])?.reply, 500, "5.5.2")
        XCTAssertReply(refusal(Array("NOOP".utf8) + [10])?.reply, 500, "5.5.2")
    }

    func testInvalidUTF8IsRefused() {
        XCTAssertReply(
            refusal(Array("MAIL FROM:<".utf8) + [0xC3, 0x28] + Array("@example.org>".utf8))?.reply,
            500,
            "5.5.2"
        )
        XCTAssertReply(refusal([0xFF] + Array(" x".utf8))?.reply, 500, "5.5.2")
    }

    func testEightBitOutsideMAILAndRCPTIsRefused() {
        XCTAssertReply(refusal("EHLO bücher.example")?.reply, 500, "5.5.2")
        XCTAssertReply(refusal("AUTH PLAIN é")?.reply, 500, "5.5.2")
        XCTAssertReply(refusal("NOOP é")?.reply, 500, "5.5.2")
    }

    // MARK: EHLO and HELO

    func testEHLOTakesADomainOrAnAddressLiteral() throws {
        XCTAssertEqual(try parse("EHLO gimel"), .ehlo("gimel"))
        XCTAssertEqual(try parse("EHLO [136.145.54.138]"), .ehlo("[136.145.54.138]"))
        XCTAssertEqual(try parse("EHLO [IPv6:2001:db8::1]"), .ehlo("[IPv6:2001:db8::1]"))
    }

    func testEHLOAcceptsUnderscoresThatWindowsHostNamesHave() throws {
        XCTAssertEqual(try parse("EHLO DESKTOP_4F2"), .ehlo("DESKTOP_4F2"))
    }

    func testBadEHLOArgumentsAre501() {
        for line in [
            "EHLO", "EHLO two words", "EHLO -bad.example", "EHLO bad-.example", "EHLO a..b", "EHLO [300.1.1.1]",
        ] {
            XCTAssertReply(refusal(line)?.reply, 501, "5.5.4")
        }
    }

    // MARK: MAIL

    func testMAILWithPathAndNullPath() throws {
        XCTAssertEqual(
            try parse("MAIL FROM:<alice@example.org>"),
            .mail(from: mailbox("alice", "example.org"), parameters: SMTPMailParameters())
        )
        XCTAssertEqual(try parse("MAIL FROM:<>"), .mail(from: nil, parameters: SMTPMailParameters()))
        XCTAssertEqual(
            try parse("mail from:<alice@example.org>"),
            .mail(from: mailbox("alice", "example.org"), parameters: SMTPMailParameters())
        )
    }

    func testSpaceAfterColonIsToleratedAsEveryServerDoes() throws {
        XCTAssertEqual(
            try parse("MAIL FROM: <alice@example.org>"),
            .mail(from: mailbox("alice", "example.org"), parameters: SMTPMailParameters())
        )
    }

    func testPathWithoutAngleBracketsIsRefused() {
        XCTAssertReply(refusal("MAIL FROM:alice@example.org")?.reply, 501, "5.1.7")
        XCTAssertReply(refusal("RCPT TO:bob@example.net")?.reply, 501, "5.1.3")
        XCTAssertReply(refusal("MAIL FROM:<alice@example.org")?.reply, 501, "5.1.7")
        XCTAssertReply(refusal("MAIL <alice@example.org>")?.reply, 501, "5.5.4")
    }

    func testMAILParameters() throws {
        let command = try parse("MAIL FROM:<alice@example.org> SIZE=1000 BODY=8bitmime SMTPUTF8 AUTH=<>")
        XCTAssertEqual(
            command,
            .mail(
                from: mailbox("alice", "example.org"),
                parameters: SMTPMailParameters(size: 1000, body: .eightBitMIME, smtpUTF8: true, auth: "<>")
            )
        )
        XCTAssertEqual(
            try parse("MAIL FROM:<> body=7BIT"),
            .mail(from: nil, parameters: SMTPMailParameters(body: .sevenBit))
        )
    }

    func testHugeSIZESaturatesInsteadOfFailing() throws {
        guard case .mail(_, let parameters) = try parse("MAIL FROM:<> SIZE=99999999999999999999") else {
            return XCTFail("not MAIL")
        }
        XCTAssertEqual(parameters.size, Int.max)
    }

    func testUnknownParameterIs555() {
        XCTAssertReply(refusal("MAIL FROM:<alice@example.org> RET=HDRS")?.reply, 555, "5.5.4")
        XCTAssertReply(refusal("RCPT TO:<bob@example.net> NOTIFY=NEVER")?.reply, 555, "5.5.4")
    }

    func testBadParameterValuesAre501() {
        for line in [
            "MAIL FROM:<> SIZE=abc", "MAIL FROM:<> SIZE", "MAIL FROM:<> SIZE=123456789012345678901",
            "MAIL FROM:<> BODY=BINARYMIME", "MAIL FROM:<> SMTPUTF8=yes", "MAIL FROM:<> AUTH",
            "MAIL FROM:<> SIZE=1 SIZE=2", "MAIL FROM:<> =x", "MAIL FROM:<> SIZE=", "MAIL FROM:<>SIZE=1",
            "MAIL FROM:<> SIZE=a=b",
        ] {
            XCTAssertReply(refusal(line)?.reply, 501, "5.5.4")
        }
    }

    func testQuotedLocalPartIsCanonicalized() throws {
        XCTAssertEqual(
            try parse("MAIL FROM:<\"alice\"@example.org>"),
            .mail(from: mailbox("alice", "example.org"), parameters: SMTPMailParameters())
        )
        guard case .mail(let sender?, _) = try parse("MAIL FROM:<\"a b\\\"c\"@example.org>") else {
            return XCTFail("not MAIL")
        }
        XCTAssertEqual(sender.localPart, "\"a b\\\"c\"")
        XCTAssertEqual(sender.unquotedLocalPart, "a b\"c")
    }

    func testQuotedLocalPartMayHoldAngleBracketsAndSpaces() throws {
        guard case .mail(let sender?, let parameters) = try parse("MAIL FROM:<\"x> y\"@example.org> SIZE=5") else {
            return XCTFail("not MAIL")
        }
        XCTAssertEqual(sender.unquotedLocalPart, "x> y")
        XCTAssertEqual(parameters.size, 5)
    }

    func testSourceRouteIsDropped() throws {
        XCTAssertEqual(
            try parse("MAIL FROM:<@relay.example,@other.example:alice@example.org>"),
            .mail(from: mailbox("alice", "example.org"), parameters: SMTPMailParameters())
        )
    }

    func testUTF8MailboxIsParsedForTheSessionToCheck() throws {
        guard case .mail(let sender?, let parameters) = try parse("MAIL FROM:<jörg@bücher.example> SMTPUTF8") else {
            return XCTFail("not MAIL")
        }
        XCTAssertEqual(sender.description, "jörg@bücher.example")
        XCTAssertFalse(sender.isASCII)
        XCTAssertTrue(parameters.smtpUTF8)
    }

    // MARK: RCPT

    func testRCPTTakesAMailboxOrPostmaster() throws {
        XCTAssertEqual(try parse("RCPT TO:<bob@example.net>"), .rcpt(to: .mailbox(mailbox("bob", "example.net"))))
        XCTAssertEqual(try parse("RCPT TO:<Postmaster>"), .rcpt(to: .postmaster))
        XCTAssertEqual(try parse("rcpt to:<POSTMASTER>"), .rcpt(to: .postmaster))
        XCTAssertEqual(
            try parse("RCPT TO:<postmaster@example.net>"),
            .rcpt(to: .mailbox(mailbox("postmaster", "example.net")))
        )
    }

    func testRCPTRefusesTheNullPath() {
        XCTAssertReply(refusal("RCPT TO:<>")?.reply, 501, "5.1.3")
        XCTAssertReply(refusal("MAIL FROM:<Postmaster>")?.reply, 501, "5.1.7")
    }

    // MARK: AUTH

    func testAUTHWithAndWithoutInitialResponse() throws {
        XCTAssertEqual(try parse("AUTH plain"), .auth(mechanism: "PLAIN", initialResponse: nil))
        XCTAssertEqual(try parse("AUTH PLAIN AGFsaWNlAHB3"), .auth(mechanism: "PLAIN", initialResponse: "AGFsaWNlAHB3"))
        XCTAssertEqual(try parse("AUTH PLAIN ="), .auth(mechanism: "PLAIN", initialResponse: "="))
        XCTAssertEqual(try parse("AUTH scram-sha-256"), .auth(mechanism: "SCRAM-SHA-256", initialResponse: nil))
    }

    func testBadAUTHSyntaxIs501() {
        XCTAssertReply(refusal("AUTH")?.reply, 501, "5.5.4")
        XCTAssertReply(refusal("AUTH PLAIN a b")?.reply, 501, "5.5.4")
        XCTAssertReply(refusal("AUTH PL@IN")?.reply, 501, "5.5.4")
        XCTAssertReply(refusal("AUTH ABCDEFGHIJKLMNOPQRSTU")?.reply, 501, "5.5.4")
    }
}
