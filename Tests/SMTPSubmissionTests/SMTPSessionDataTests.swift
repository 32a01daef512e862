import SASLDB
import SASLMechanisms
import XCTest

@testable import SMTPSubmission

/// DATA: dot-unstuffing, the end of data, smuggling, size, the Received header and the sink's answer.
final class SMTPSessionDataTests: XCTestCase {
    private func loggedIn(_ configuration: SMTPSessionConfiguration? = nil) throws -> SessionDriver {
        var driver = SessionDriver(try configuration ?? SessionFixture.configuration())
        driver.logIn()
        return driver
    }

    /// Starts a transaction and DATA, returning the driver in the DATA phase.
    private func inData(_ configuration: SMTPSessionConfiguration? = nil) throws -> SessionDriver {
        var driver = try loggedIn(configuration)
        driver.send("MAIL FROM:<alice@example.org>")
        driver.send("RCPT TO:<bob@example.net>")
        XCTAssertEqual(driver.send("DATA").replies.map(\.description), ["354 End data with <CR><LF>.<CR><LF>\r\n"])
        return driver
    }

    private func body(of message: SubmittedMessage?) -> String {
        let text = String(decoding: message?.data ?? [], as: UTF8.self)
        guard let range = text.range(of: "-0400\r\n") else { return text }
        return String(text[range.upperBound...])
    }

    // MARK: Delivery

    func testReply250ComesOnlyAfterTheSinkHoldsTheMessage() throws {
        var driver = try inData()
        driver.completesDeliveries = false
        driver.send("Subject: hi")
        let actions = driver.send(".")
        XCTAssertEqual(actions.deliveries.count, 1)
        XCTAssertTrue(actions.replies.isEmpty)
        XCTAssertTrue(driver.send("NOOP").replies.isEmpty, "input while delivering must wait")
        let result = driver.process(driver.session.deliveryCompleted(.success(())))
        XCTAssertEqual(result.replies.map(\.description), ["250 2.0.0 Ok: queued as TESTSESSION-1\r\n"])
        XCTAssertEqual(result.logEvents.first?.message, "message accepted")
        XCTAssertEqual(result.logEvents.first?.metadata["message.id"], "TESTSESSION-1")
    }

    func testTemporarySinkFailureIs451() throws {
        var driver = try loggedIn()
        driver.deliveryResult = .failure(.temporary(reason: "disk full"))
        let reply = driver.submit().replies.last
        XCTAssertEqual(reply?.description, "451 4.3.0 Message not accepted, try again later\r\n")
        XCTAssertEqual(driver.logEvents.last?.metadata["smtp.reason"], "disk full")
    }

    func testPermanentSinkFailureIs554() throws {
        var driver = try loggedIn()
        driver.deliveryResult = .failure(.permanent(reason: "relay said 550"))
        XCTAssertReply(driver.submit().replies.last, 554, "5.0.0")
    }

    func testTheTransactionEndsAfterTheMessage() throws {
        var driver = try loggedIn()
        driver.submit()
        XCTAssertReply(driver.reply(to: "RCPT TO:<bob@example.net>"), 503, "5.5.1")
        XCTAssertReply(driver.submit().replies.last, 250, "2.0.0")
        XCTAssertEqual(driver.deliveries.map(\.id), ["TESTSESSION-1", "TESTSESSION-2"])
    }

    func testSubmittedMessageCarriesTheEnvelope() throws {
        var driver = try loggedIn()
        driver.send("MAIL FROM:<alice@example.org> BODY=8BITMIME SIZE=100")
        driver.send("RCPT TO:<bob@example.net>")
        driver.send("RCPT TO:<Postmaster>")
        driver.send("DATA")
        driver.send("Hi")
        driver.send(".")
        let message = driver.deliveries.first
        XCTAssertEqual(message?.sender, "alice@example.org")
        XCTAssertEqual(message?.recipients, ["bob@example.net", "Postmaster"])
        XCTAssertEqual(message?.authenticatedUser, "alice@example.org")
        XCTAssertEqual(message?.parameters, ["BODY": "8BITMIME"])
        XCTAssertEqual(body(of: message), "Hi\r\n")
    }

    func testNullSenderIsAnEmptyString() throws {
        var driver = try loggedIn()
        driver.submit(from: "<>")
        XCTAssertEqual(driver.deliveries.first?.sender, "")
    }

    // MARK: Text

    func testDotStuffingIsRemoved() throws {
        var driver = try inData()
        for line in ["..leading dot", "...", ". not the end", ""] { driver.send(line) }
        driver.send(".")
        XCTAssertEqual(body(of: driver.deliveries.first), ".leading dot\r\n..\r\n not the end\r\n\r\n")
    }

    func testEmptyMessageIsAccepted() throws {
        var driver = try inData()
        XCTAssertReply(driver.send(".").replies.last, 250, "2.0.0")
        XCTAssertEqual(body(of: driver.deliveries.first), "")
    }

    func testLinesThatLookLikeCommandsAreText() throws {
        var driver = try inData()
        XCTAssertTrue(driver.send("QUIT").isEmpty)
        XCTAssertTrue(driver.send("MAIL FROM:<x@y.z>").isEmpty)
        driver.send(".")
        XCTAssertEqual(body(of: driver.deliveries.first), "QUIT\r\nMAIL FROM:<x@y.z>\r\n")
    }

    func testEightBitTextIsKept() throws {
        var driver = try inData()
        driver.feed([0xC3, 0xA9, 0xFF])
        driver.send(".")
        XCTAssertEqual(Array(driver.deliveries.first?.data.suffix(5) ?? []), [0xC3, 0xA9, 0xFF, 13, 10])
    }

    /// RFC 5322 allows no NUL in a message, and without BINARYMIME none may be sent: a next hop that drops NULs
    /// before it parses would see a lone dot in `<NUL>.` or `.<NUL>`.
    func testANULOctetRefusesTheMessageAtItsEnd() throws {
        for line in [[0x00, 0x2E], [0x2E, 0x00], [0x61, 0x00, 0x62]] as [[UInt8]] {
            var driver = try inData()
            XCTAssertTrue(driver.feed(line).isEmpty)
            XCTAssertTrue(driver.send("MAIL FROM:<ceo@example.org>").replies.isEmpty)
            let actions = driver.send(".")
            XCTAssertEqual(actions.replies, [SMTPReply.nulInData])
            XCTAssertEqual(actions.logEvents.last?.metadata["smtp.reason"], "NUL octet")
            XCTAssertTrue(driver.deliveries.isEmpty)
        }
    }

    // MARK: SMTP smuggling (CVE-2023-51764 class)

    /// `<LF>.<LF>`: a decoder that drops the bytes before each bare ending reports two bare endings; the smuggled
    /// MAIL is text, and only the real CRLF.CRLF ends the (refused) message.
    func testLFDotLFDoesNotEndDataAndTheMessageIsRefused() throws {
        var driver = try inData()
        driver.send("Subject: first")
        driver.process(driver.session.bareLineEnding())  // "hello\n" dropped
        driver.process(driver.session.bareLineEnding())  // ".\n" dropped
        XCTAssertTrue(driver.send("MAIL FROM:<ceo@example.org>").replies.isEmpty)
        XCTAssertTrue(driver.send("RCPT TO:<victim@example.net>").replies.isEmpty)
        XCTAssertTrue(driver.send("DATA").replies.isEmpty)
        let actions = driver.send(".")
        XCTAssertReply(actions.replies.last, 554, "5.6.0")
        XCTAssertTrue(driver.deliveries.isEmpty)
        XCTAssertReply(driver.reply(to: "NOOP"), 250, "2.0.0")
    }

    /// `<CR>.<CR>`, with a decoder that passes the piece before a bare ending as a line and reports the ending
    /// after it: the dot that follows the bare ending is still not the end.
    func testCRDotCRDoesNotEndDataAndTheMessageIsRefused() throws {
        var driver = try inData()
        driver.send("hello")
        driver.process(driver.session.bareLineEnding())
        XCTAssertTrue(driver.send(".").replies.isEmpty)
        driver.process(driver.session.bareLineEnding())
        XCTAssertTrue(driver.send("MAIL FROM:<ceo@example.org>").replies.isEmpty)
        XCTAssertReply(driver.send(".").replies.last, 554, "5.6.0")
        XCTAssertTrue(driver.deliveries.isEmpty)
    }

    /// `<LF>.<CR><LF>`: the dot line is CRLF-terminated, but it follows a bare LF, so it does not end the data.
    func testLFDotCRLFDoesNotEndDataAndTheMessageIsRefused() throws {
        var driver = try inData()
        driver.process(driver.session.bareLineEnding())  // "hello\n"
        XCTAssertTrue(driver.send(".").replies.isEmpty)  // ".\r\n" right after the bare LF
        XCTAssertTrue(driver.send("MAIL FROM:<ceo@example.org>").replies.isEmpty)
        XCTAssertTrue(driver.send("").replies.isEmpty)
        XCTAssertReply(driver.send(".").replies.last, 554, "5.6.0")
        XCTAssertTrue(driver.deliveries.isEmpty)
    }

    func testLineHoldingABareLFIsRefusedToo() throws {
        var driver = try inData()
        driver.feed(Array("hello\n.\nMAIL FROM:<ceo@example.org>".utf8))
        XCTAssertReply(driver.send(".").replies.last, 554, "5.6.0")
        XCTAssertTrue(driver.deliveries.isEmpty)
    }

    func testBareLineEndingIsLoggedOncePerMessage() throws {
        var driver = try inData()
        let first = driver.process(driver.session.bareLineEnding())
        let second = driver.process(driver.session.bareLineEnding())
        XCTAssertEqual(first.logEvents.count, 1)
        XCTAssertTrue(second.isEmpty)
    }

    // MARK: Size and lines

    func testSIZEOverTheLimitIs552AtMAIL() throws {
        var driver = try loggedIn()
        XCTAssertReply(driver.reply(to: "MAIL FROM:<alice@example.org> SIZE=26214401"), 552, "5.3.4")
        XCTAssertReply(driver.reply(to: "MAIL FROM:<alice@example.org> SIZE=26214400"), 250, "2.1.0")
    }

    func testDataOverTheLimitIs552AfterTheDot() throws {
        var limits = SMTPLimits()
        limits.messageSize = 100
        var driver = try inData(try SessionFixture.configuration(limits: limits))
        for _ in 0..<10 { XCTAssertTrue(driver.send(String(repeating: "x", count: 20)).isEmpty) }
        XCTAssertReply(driver.send(".").replies.last, 552, "5.3.4")
        XCTAssertTrue(driver.deliveries.isEmpty)
    }

    func testDataExactlyAtTheLimitIsAccepted() throws {
        var limits = SMTPLimits()
        limits.messageSize = 100
        var driver = try inData(try SessionFixture.configuration(limits: limits))
        for _ in 0..<5 { driver.send(String(repeating: "x", count: 18)) }
        XCTAssertReply(driver.send(".").replies.last, 250, "2.0.0")
    }

    func testOverlongTextLineRefusesTheMessageAfterTheDot() throws {
        var driver = try inData()
        XCTAssertTrue(driver.process(driver.session.lineTooLong()).isEmpty)
        driver.send("more text")
        XCTAssertReply(driver.send(".").replies.last, 500, "5.5.6")
        XCTAssertTrue(driver.deliveries.isEmpty)
        XCTAssertReply(driver.reply(to: "MAIL FROM:<alice@example.org>"), 250, "2.1.0")
    }

    func testTooManyRecipientsIs452() throws {
        var limits = SMTPLimits()
        limits.recipientsPerMessage = 2
        var driver = try loggedIn(try SessionFixture.configuration(limits: limits))
        driver.send("MAIL FROM:<alice@example.org>")
        XCTAssertReply(driver.reply(to: "RCPT TO:<a@example.net>"), 250, "2.1.5")
        XCTAssertReply(driver.reply(to: "RCPT TO:<b@example.net>"), 250, "2.1.5")
        XCTAssertReply(driver.reply(to: "RCPT TO:<c@example.net>"), 452, "4.5.3")
        driver.send("DATA")
        driver.send(".")
        XCTAssertEqual(driver.deliveries.first?.recipients, ["a@example.net", "b@example.net"])
    }

    // MARK: Parameters and addresses

    func testNonASCIIRecipientNeedsSMTPUTF8() throws {
        var driver = try loggedIn()
        driver.send("MAIL FROM:<alice@example.org>")
        XCTAssertReply(driver.reply(to: "RCPT TO:<jörg@bücher.example>"), 553, "5.6.7")
        driver.send("RSET")
        driver.send("MAIL FROM:<alice@example.org> SMTPUTF8")
        XCTAssertReply(driver.reply(to: "RCPT TO:<jörg@bücher.example>"), 250, "2.1.5")
        driver.send("DATA")
        driver.send(".")
        XCTAssertEqual(driver.deliveries.first?.parameters, ["SMTPUTF8": ""])
        XCTAssertEqual(driver.deliveries.first?.recipients, ["jörg@bücher.example"])
    }

    func testNonASCIISenderNeedsSMTPUTF8() throws {
        var configuration = try SessionFixture.configuration()
        configuration.senderPolicy.allowsAnySender = true
        var driver = try loggedIn(configuration)
        XCTAssertReply(driver.reply(to: "MAIL FROM:<jörg@bücher.example>"), 553, "5.6.7")
        XCTAssertReply(driver.reply(to: "MAIL FROM:<jörg@bücher.example> SMTPUTF8"), 250, "2.1.0")
    }

    func testMAILParametersAfterHELOAre555() throws {
        var driver = try loggedIn()
        driver.send("HELO client.example")
        XCTAssertReply(driver.reply(to: "MAIL FROM:<alice@example.org> SIZE=10"), 555, "5.5.4")
        XCTAssertReply(driver.reply(to: "MAIL FROM:<alice@example.org>"), 250, "2.1.0")
    }

    // MARK: Sender policy in the session

    func testForgedSenderIs553() throws {
        var driver = try loggedIn()
        let actions = driver.send("MAIL FROM:<bob@example.org>")
        XCTAssertEqual(
            actions.replies.last?.description,
            "553 5.7.1 Sender address rejected: not owned by user alice@example.org\r\n"
        )
        XCTAssertEqual(actions.logEvents.first?.message, "sender refused")
        XCTAssertReply(driver.reply(to: "MAIL FROM:<alice@EXAMPLE.org>"), 250, "2.1.0")
    }

    func testNullSenderIsRefusedWhenTheConfigurationSaysSo() throws {
        var configuration = try SessionFixture.configuration()
        configuration.senderPolicy.allowsNullSender = false
        var driver = try loggedIn(configuration)
        XCTAssertReply(driver.reply(to: "MAIL FROM:<>"), 553, "5.7.1")
    }

    func testSenderLoginMapGrantsASharedAddress() throws {
        let map = try SenderLoginMap(parsing: "sales@example.org alice, bob\n", defaultRealm: "example.org")
        var driver = try loggedIn(try SessionFixture.configuration(senderPolicy: SenderPolicy(loginMap: map)))
        XCTAssertReply(driver.reply(to: "MAIL FROM:<sales@example.org>"), 250, "2.1.0")
    }

    func testAuthorizationIdentityDecidesTheSender() throws {
        var context = try SessionFixture.context()
        context.authorize = { user, identity in user.description == "alice@example.org" && identity == "bob" }
        var driver = SessionDriver(try SessionFixture.configuration(context: context))
        driver.establishTLS()
        let blob = Base64.encode(Array("bob\u{0}alice\u{0}\(SessionFixture.password)".utf8))
        XCTAssertReply(driver.reply(to: "AUTH PLAIN " + blob), 235, "2.7.0")
        XCTAssertReply(driver.reply(to: "MAIL FROM:<alice@example.org>"), 553, "5.7.1")
        XCTAssertReply(driver.reply(to: "MAIL FROM:<bob@example.org>"), 250, "2.1.0")
    }

    // MARK: Received header

    func testReceivedHeaderIsPrependedWithAuthenticatedSenderAndESMTPSA() throws {
        var driver = try inData()
        driver.send("Subject: hi")
        driver.send(".")
        let text = String(decoding: driver.deliveries.first?.data ?? [], as: UTF8.self)
        XCTAssertEqual(
            text,
            "Received: from client.example ([192.0.2.7])\r\n"
                + "\t(Authenticated sender: alice@example.org)\r\n"
                + "\tby mail.example.org with ESMTPSA id TESTSESSION-1\r\n"
                + "\tfor <bob@example.net>; Fri, 24 May 2002 11:44:42 -0400\r\n"
                + "Subject: hi\r\n"
        )
    }

    func testReceivedHeaderNamesNoRecipientWhenThereAreSeveral() throws {
        var driver = try loggedIn()
        driver.submit(to: ["<bob@example.net>", "<carol@example.net>"])
        let text = String(decoding: driver.deliveries.first?.data ?? [], as: UTF8.self)
        XCTAssertTrue(text.contains("id TESTSESSION-1;\r\n\tFri, 24 May 2002 11:44:42 -0400\r\n"), text)
        XCTAssertFalse(text.contains("carol"))
    }

    func testReceivedHeaderOptions() throws {
        var configuration = try SessionFixture.configuration()
        configuration.receivedHeader = SMTPReceivedHeaderOptions(
            software: "sasl-smtpd",
            includesClientAddress: false,
            includesAuthenticatedSender: false
        )
        var driver = SessionDriver(configuration, isTLS: true)
        driver.start()
        driver.send("EHLO [IPv6:2001:db8::5]")
        driver.send("AUTH PLAIN " + SessionFixture.plain("alice", SessionFixture.password))
        driver.submit(from: "<alice@example.org> SMTPUTF8")
        let text = String(decoding: driver.deliveries.first?.data ?? [], as: UTF8.self)
        XCTAssertTrue(
            text.hasPrefix(
                "Received: from [IPv6:2001:db8::5]\r\n\tby mail.example.org (sasl-smtpd) with UTF8SMTPSA id"
            ),
            text
        )
    }

    func testReceivedHeaderCanBeTurnedOff() throws {
        var configuration = try SessionFixture.configuration()
        configuration.receivedHeader.isEnabled = false
        var driver = try inData(configuration)
        driver.send("Subject: hi")
        driver.send(".")
        XCTAssertEqual(driver.deliveries.first?.data, Array("Subject: hi\r\n".utf8))
    }

    func testClientAddressIsWrittenAsAnAddressLiteralOrUnknown() {
        XCTAssertEqual(ReceivedHeader.addressLiteral("2001:db8::1"), "[IPv6:2001:db8::1]")
        XCTAssertEqual(ReceivedHeader.addressLiteral("::ffff:192.0.2.1"), "[IPv6:::ffff:192.0.2.1]")
        XCTAssertNil(ReceivedHeader.addressLiteral("192.0.2.1\r\nX-Evil: 1"))
        XCTAssertNil(ReceivedHeader.addressLiteral("fe80::1%eth0"))
    }
}
