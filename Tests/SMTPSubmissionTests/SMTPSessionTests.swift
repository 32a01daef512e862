import SASLMechanisms
import XCTest

@testable import SMTPSubmission

/// The command phase: greeting, EHLO, order of commands, STARTTLS, limits and closing.
final class SMTPSessionTests: XCTestCase {
    func testGreetingNamesTheHostWithoutAnEnhancedCode() throws {
        var driver = try SessionDriver()
        XCTAssertEqual(driver.start().replies.map(\.description), ["220 mail.example.org ESMTP\r\n"])
    }

    func testEHLOBeforeTLSOffersSTARTTLSAndNoAUTH() throws {
        var driver = try SessionDriver()
        driver.start()
        let reply = driver.reply(to: "EHLO client.example")
        XCTAssertEqual(reply?.code, 250)
        XCTAssertNil(reply?.enhancedCode)
        XCTAssertEqual(
            reply?.lines,
            [
                "mail.example.org", "PIPELINING", "SIZE 26214400", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES",
                "CHUNKING", "STARTTLS",
            ]
        )
    }

    func testEHLOAfterTLSOffersAUTHAndNoLongerSTARTTLS() throws {
        var driver = try SessionDriver()
        driver.establishTLS()
        let lines = driver.actions.replies.last?.lines ?? []
        XCTAssertTrue(lines.contains("AUTH CRAM-MD5 PLAIN LOGIN"), "\(lines)")
        XCTAssertFalse(lines.contains("STARTTLS"))
        XCTAssertTrue(driver.session.isTLS)
    }

    func testMechanismsAllowedInTheClearAreOfferedWhenTLSIsNotRequired() throws {
        var driver = SessionDriver(
            try SessionFixture.configuration(
                requiresTLS: false,
                mechanisms: MechanismPolicy(enabled: ["CRAM-MD5", "PLAIN"], allowedWithoutTLS: ["CRAM-MD5"])
            )
        )
        driver.start()
        XCTAssertTrue(driver.reply(to: "EHLO client.example")?.lines.contains("AUTH CRAM-MD5") ?? false)
    }

    func testNoMechanismIsOfferedInTheClearByDefault() throws {
        var driver = try SessionDriver(requiresTLS: false)
        driver.start()
        let lines = driver.reply(to: "EHLO client.example")?.lines ?? []
        XCTAssertFalse(lines.contains { $0.hasPrefix("AUTH") }, "\(lines)")
    }

    func testLegacyAuthEqualsLineIsAddedForOldOutlook() throws {
        var configuration = try SessionFixture.configuration()
        configuration.legacyAuthEquals = true
        var driver = SessionDriver(configuration)
        driver.establishTLS()
        let lines = driver.actions.replies.last?.lines ?? []
        XCTAssertTrue(lines.contains("AUTH CRAM-MD5 PLAIN LOGIN"))
        XCTAssertTrue(lines.contains("AUTH=CRAM-MD5 PLAIN LOGIN"))
    }

    func testImplicitTLSSessionOffersAUTHAtOnce() throws {
        var driver = SessionDriver(try SessionFixture.configuration(), isTLS: true)
        driver.start()
        let lines = driver.reply(to: "EHLO client.example")?.lines ?? []
        XCTAssertTrue(lines.contains("AUTH CRAM-MD5 PLAIN LOGIN"))
        XCTAssertFalse(lines.contains("STARTTLS"))
    }

    func testHELOGetsAOneLineReply() throws {
        var driver = try SessionDriver()
        driver.start()
        XCTAssertEqual(driver.reply(to: "HELO client.example")?.description, "250 mail.example.org\r\n")
    }

    func testEHLOWithoutArgumentIs501() throws {
        var driver = try SessionDriver()
        driver.start()
        XCTAssertReply(driver.reply(to: "EHLO"), 501, "5.5.4")
    }

    // MARK: Order of commands

    func testMAILBeforeEHLOIsABadSequence() throws {
        var driver = try SessionDriver()
        driver.start()
        XCTAssertReply(driver.reply(to: "MAIL FROM:<alice@example.org>"), 503, "5.5.1")
    }

    func testMAILBeforeAUTHIsRefusedSoTheServerIsNoOpenRelay() throws {
        var driver = try SessionDriver()
        driver.establishTLS()
        XCTAssertReply(driver.reply(to: "MAIL FROM:<alice@example.org>"), 530, "5.7.0")
        XCTAssertReply(driver.reply(to: "RCPT TO:<victim@example.net>"), 503, "5.5.1")
        XCTAssertReply(driver.reply(to: "DATA"), 503, "5.5.1")
    }

    func testMAILBeforeTLSOnASubmissionListenerAsksForSTARTTLS() throws {
        var driver = try SessionDriver()
        driver.start()
        driver.send("EHLO client.example")
        let reply = driver.reply(to: "MAIL FROM:<alice@example.org>")
        XCTAssertReply(reply, 530, "5.7.0")
        XCTAssertEqual(reply?.lines, ["Must issue a STARTTLS command first"])
    }

    func testRCPTBeforeMAILIsABadSequence() throws {
        var driver = try SessionDriver()
        driver.logIn()
        XCTAssertReply(driver.reply(to: "RCPT TO:<bob@example.net>"), 503, "5.5.1")
    }

    func testDATABeforeRCPTIsABadSequence() throws {
        var driver = try SessionDriver()
        driver.logIn()
        XCTAssertReply(driver.reply(to: "DATA"), 503, "5.5.1")
        driver.send("MAIL FROM:<alice@example.org>")
        XCTAssertReply(driver.reply(to: "DATA"), 503, "5.5.1")
    }

    func testNestedMAILIsABadSequence() throws {
        var driver = try SessionDriver()
        driver.logIn()
        XCTAssertReply(driver.reply(to: "MAIL FROM:<alice@example.org>"), 250, "2.1.0")
        XCTAssertReply(driver.reply(to: "MAIL FROM:<alice@example.org>"), 503, "5.5.1")
    }

    func testRSETEndsTheTransaction() throws {
        var driver = try SessionDriver()
        driver.logIn()
        driver.send("MAIL FROM:<alice@example.org>")
        XCTAssertReply(driver.reply(to: "RSET"), 250, "2.0.0")
        XCTAssertReply(driver.reply(to: "RCPT TO:<bob@example.net>"), 503, "5.5.1")
        XCTAssertReply(driver.reply(to: "MAIL FROM:<alice@example.org>"), 250, "2.1.0")
    }

    func testEHLOInsideATransactionResetsItButKeepsAuthentication() throws {
        var driver = try SessionDriver()
        driver.logIn()
        driver.send("MAIL FROM:<alice@example.org>")
        driver.send("EHLO client.example")
        XCTAssertReply(driver.reply(to: "RCPT TO:<bob@example.net>"), 503, "5.5.1")
        XCTAssertReply(driver.reply(to: "MAIL FROM:<alice@example.org>"), 250, "2.1.0")
    }

    func testNOOPHELPAndVRFY() throws {
        var driver = try SessionDriver()
        driver.establishTLS()
        XCTAssertReply(driver.reply(to: "NOOP"), 250, "2.0.0")
        XCTAssertReply(driver.reply(to: "HELP"), 214, "2.0.0")
        XCTAssertReply(driver.reply(to: "VRFY alice"), 252, "2.5.0")
    }

    func testVRFYBeforeTLSOnASubmissionListenerAsksForSTARTTLS() throws {
        var driver = try SessionDriver()
        driver.start()
        XCTAssertReply(driver.reply(to: "VRFY alice"), 530, "5.7.0")
    }

    func testQUITSays221AndCloses() throws {
        var driver = try SessionDriver()
        driver.start()
        let actions = driver.send("QUIT")
        XCTAssertReply(actions.replies.last, 221, "2.0.0")
        XCTAssertTrue(actions.closes)
        XCTAssertTrue(driver.session.isClosed)
        XCTAssertTrue(driver.send("NOOP").isEmpty)
    }

    func testUnknownAndUnimplementedCommands() throws {
        var driver = try SessionDriver()
        driver.start()
        XCTAssertReply(driver.reply(to: "XYZZY"), 500, "5.5.2")
        XCTAssertReply(driver.reply(to: "EXPN staff"), 502, "5.5.1")
    }

    func testHTTPRequestClosesTheConnection() throws {
        var driver = try SessionDriver()
        driver.start()
        let actions = driver.send("POST / HTTP/1.1")
        XCTAssertReply(actions.replies.last, 421, "4.7.0")
        XCTAssertTrue(actions.closes)
    }

    // MARK: STARTTLS

    func testSTARTTLSAnswers220AndAsksTheDriverToStartTLS() throws {
        var driver = try SessionDriver()
        driver.start()
        driver.send("EHLO client.example")
        let actions = driver.send("STARTTLS")
        XCTAssertEqual(actions.replies.map(\.description), ["220 2.0.0 Ready to start TLS\r\n"])
        XCTAssertTrue(actions.startsTLS)
    }

    /// `gsasl --smtp` sends STARTTLS right after the greeting; the session after TLS starts with EHLO as always.
    func testSTARTTLSStraightAfterTheGreetingIsAccepted() throws {
        var driver = try SessionDriver()
        driver.start()
        let actions = driver.send("STARTTLS")
        XCTAssertEqual(actions.replies.map(\.description), ["220 2.0.0 Ready to start TLS\r\n"])
        XCTAssertTrue(actions.startsTLS)
        driver.process(driver.session.tlsEstablished(channelBindings: []))
        XCTAssertReply(driver.reply(to: "MAIL FROM:<alice@example.org>"), 503, "5.5.1")
        XCTAssertEqual(driver.reply(to: "EHLO client.example")?.code, 250)
    }

    func testCommandsBeforeLoginAreBounded() throws {
        var driver = SessionDriver(try SessionFixture.configuration(limits: SMTPLimits(commandsBeforeLogin: 5)))
        driver.start()
        for _ in 0..<5 { XCTAssertReply(driver.reply(to: "NOOP"), 250, "2.0.0") }
        let actions = driver.send("NOOP")
        XCTAssertEqual(
            actions.replies.map(\.description),
            ["421 4.7.0 mail.example.org Too many commands without authentication\r\n"]
        )
        XCTAssertTrue(driver.session.isClosed)
    }

    func testCommandsAfterLoginAreNotCountedAgainstTheLoginBound() throws {
        // EHLO, STARTTLS, EHLO and AUTH: the fourth command logs in.
        var driver = SessionDriver(try SessionFixture.configuration(limits: SMTPLimits(commandsBeforeLogin: 4)))
        driver.logIn()
        XCTAssertNotNil(driver.session.authenticatedUser)
        for _ in 0..<10 { XCTAssertReply(driver.reply(to: "NOOP"), 250, "2.0.0") }
        XCTAssertFalse(driver.session.isClosed)
    }

    func testSTARTTLSAfterHELOOrInATransactionIsRefused() throws {
        var afterHELO = try SessionDriver()
        afterHELO.start()
        afterHELO.send("HELO client.example")
        XCTAssertReply(afterHELO.reply(to: "STARTTLS"), 503, "5.5.1")
        var driver = SessionDriver(
            try SessionFixture.configuration(
                requiresTLS: false,
                mechanisms: MechanismPolicy(enabled: ["PLAIN"], allowedWithoutTLS: ["PLAIN"])
            )
        )
        driver.logIn()
        driver.send("MAIL FROM:<alice@example.org>")
        XCTAssertReply(driver.reply(to: "STARTTLS"), 503, "5.5.1")
    }

    func testPipelinedCommandsAfterSTARTTLSAreNotExecuted() throws {
        var driver = try SessionDriver()
        driver.start()
        driver.send("EHLO client.example")
        driver.send("STARTTLS")
        // A man in the middle appends commands behind STARTTLS (CVE-2011-0411); if they reach the session anyway,
        // they are ignored, not answered.
        for line in ["AUTH PLAIN " + SessionFixture.plain("alice", SessionFixture.password), "MAIL FROM:<x@y.z>"] {
            let actions = driver.send(line)
            XCTAssertTrue(actions.replies.isEmpty, "\(actions)")
            XCTAssertTrue(actions.saslRequests.isEmpty)
        }
        driver.process(driver.session.tlsEstablished(channelBindings: []))
        XCTAssertNil(driver.session.authenticatedUser)
        // RFC 3207: after TLS the client starts over with EHLO.
        XCTAssertReply(
            driver.reply(to: "AUTH PLAIN " + SessionFixture.plain("alice", SessionFixture.password)),
            503,
            "5.5.1"
        )
        XCTAssertReply(driver.reply(to: "MAIL FROM:<alice@example.org>"), 503, "5.5.1")
        XCTAssertEqual(driver.reply(to: "EHLO client.example")?.code, 250)
    }

    func testTLSEstablishedForgetsAnEarlierAuthentication() throws {
        var driver = SessionDriver(
            try SessionFixture.configuration(
                requiresTLS: false,
                mechanisms: MechanismPolicy(enabled: ["PLAIN"], allowedWithoutTLS: ["PLAIN"])
            )
        )
        driver.start()
        driver.send("EHLO client.example")
        XCTAssertReply(
            driver.reply(to: "AUTH PLAIN " + SessionFixture.plain("alice", SessionFixture.password)),
            235,
            "2.7.0"
        )
        driver.send("STARTTLS")
        driver.process(driver.session.tlsEstablished(channelBindings: []))
        XCTAssertNil(driver.session.authenticatedUser)
        XCTAssertTrue(driver.reply(to: "EHLO client.example")?.lines.contains("AUTH PLAIN") ?? false)
        XCTAssertReply(driver.reply(to: "MAIL FROM:<alice@example.org>"), 530, "5.7.0")
    }

    func testSTARTTLSTwiceIsABadSequence() throws {
        var driver = try SessionDriver()
        driver.establishTLS()
        XCTAssertReply(driver.reply(to: "STARTTLS"), 503, "5.5.1")
    }

    func testSTARTTLSWhenNotOfferedIs502() throws {
        var driver = try SessionDriver(offersStartTLS: false)
        driver.start()
        driver.send("EHLO client.example")
        XCTAssertReply(driver.reply(to: "STARTTLS"), 502, "5.5.1")
    }

    func testSTARTTLSInsideATransactionIsRefused() throws {
        var driver = SessionDriver(
            try SessionFixture.configuration(
                requiresTLS: false,
                mechanisms: MechanismPolicy(enabled: ["PLAIN"], allowedWithoutTLS: ["PLAIN"])
            )
        )
        driver.start()
        driver.send("EHLO client.example")
        driver.send("AUTH PLAIN " + SessionFixture.plain("alice", SessionFixture.password))
        driver.send("MAIL FROM:<alice@example.org>")
        let actions = driver.send("STARTTLS")
        XCTAssertReply(actions.replies.last, 503, "5.5.1")
        XCTAssertFalse(actions.startsTLS)
    }

    func testTLSEstablishedWithoutSTARTTLSIsIgnored() throws {
        var driver = try SessionDriver()
        driver.start()
        driver.send("EHLO client.example")
        let actions = driver.session.tlsEstablished(channelBindings: [])
        XCTAssertTrue(actions.replies.isEmpty)
        XCTAssertFalse(driver.session.isTLS)
    }

    // MARK: Lines and limits

    func testMaximumLineLengthFollowsThePhase() throws {
        var driver = try SessionDriver()
        XCTAssertEqual(driver.session.maximumLineLength, 12_286)
        driver.logIn()
        driver.send("MAIL FROM:<alice@example.org>")
        driver.send("RCPT TO:<bob@example.net>")
        driver.send("DATA")
        XCTAssertEqual(driver.session.maximumLineLength, 998)
        driver.send(".")
        XCTAssertEqual(driver.session.maximumLineLength, 12_286)
    }

    func testCommandLongerThanTheCommandLimitIs500() throws {
        var driver = try SessionDriver()
        driver.start()
        let line = "NOOP " + String(repeating: "x", count: 506)
        XCTAssertEqual(line.utf8.count, 511)
        XCTAssertReply(driver.reply(to: line), 500, "5.5.6")
        XCTAssertReply(driver.reply(to: String(line.dropLast())), 250, "2.0.0")
    }

    func testLineTooLongInCommandPhaseIs500() throws {
        var driver = try SessionDriver()
        driver.start()
        XCTAssertReply(driver.process(driver.session.lineTooLong()).replies.last, 500, "5.5.6")
        XCTAssertReply(driver.reply(to: "NOOP"), 250, "2.0.0")
    }

    func testBareLineEndingInCommandPhaseIs500() throws {
        var driver = try SessionDriver()
        driver.start()
        XCTAssertReply(driver.process(driver.session.bareLineEnding()).replies.last, 500, "5.5.2")
    }

    func testTimeoutSends421AndCloses() throws {
        var driver = try SessionDriver()
        driver.start()
        let actions = driver.process(driver.session.timedOut())
        XCTAssertReply(actions.replies.last, 421, "4.4.2")
        XCTAssertTrue(actions.closes)
        XCTAssertTrue(driver.process(driver.session.timedOut()).isEmpty)
    }

    func testShutdownSends421AndCloses() throws {
        var driver = try SessionDriver()
        driver.start()
        let actions = driver.process(driver.session.shuttingDown())
        XCTAssertReply(actions.replies.last, 421, "4.3.2")
        XCTAssertTrue(actions.closes)
    }

    func testTooManyErrorsCloseTheConnection() throws {
        var limits = SMTPLimits()
        limits.errorsPerConnection = 3
        var driver = SessionDriver(try SessionFixture.configuration(limits: limits))
        driver.start()
        XCTAssertFalse(driver.send("BOGUS").closes)
        XCTAssertFalse(driver.send("BOGUS").closes)
        let actions = driver.send("BOGUS")
        XCTAssertEqual(actions.codes, [500, 421])
        XCTAssertTrue(actions.closes)
    }

    func testTooManyMessagesCloseTheConnection() throws {
        var limits = SMTPLimits()
        limits.messagesPerConnection = 1
        var driver = SessionDriver(try SessionFixture.configuration(limits: limits))
        driver.logIn()
        XCTAssertReply(driver.submit().replies.last, 250, "2.0.0")
        let actions = driver.send("MAIL FROM:<alice@example.org>")
        XCTAssertReply(actions.replies.last, 421, "4.7.0")
        XCTAssertTrue(actions.closes)
    }

    func testInputBeforeStartIsIgnored() throws {
        var session = SMTPSession(configuration: try SessionFixture.configuration(), clientAddress: "192.0.2.7")
        XCTAssertTrue(session.receiveLine(Array("EHLO x".utf8)).replies.isEmpty)
        XCTAssertEqual(session.start().codes, [220])
    }

    func testSessionIDsAreRandomAndFileNameSafe() {
        let first = SMTPSession.makeSessionID()
        XCTAssertEqual(first.count, 16)
        XCTAssertNotEqual(first, SMTPSession.makeSessionID())
        XCTAssertTrue(first.unicodeScalars.allSatisfy { ("0"..."9").contains($0) || ("A"..."Z").contains($0) })
    }
}
