import SASLDB
import SASLMechanisms
import XCTest

@testable import SMTPSubmission

extension SessionDriver {
    /// `BDAT <count> [LAST]`, then the chunk's octets in one piece.
    @discardableResult
    mutating func bdat(_ octets: [UInt8], last: Bool = false) -> [SMTPSessionAction] {
        var actions = send("BDAT \(octets.count)" + (last ? " LAST" : ""))
        if !octets.isEmpty { actions += process(session.receiveChunkOctets(octets)) }
        return actions
    }

    @discardableResult
    mutating func bdat(_ text: String, last: Bool = false) -> [SMTPSessionAction] {
        bdat(Array(text.utf8), last: last)
    }
}

/// BDAT (RFC 3030): chunks read as raw octets, answered once read, the message ended by LAST and refused as DATA's.
final class SMTPSessionChunkingTests: XCTestCase {
    private func inTransaction(limits: SMTPLimits = SMTPLimits()) throws -> SessionDriver {
        var driver = SessionDriver(try SessionFixture.configuration(limits: limits))
        driver.logIn()
        driver.send("MAIL FROM:<alice@example.org>")
        driver.send("RCPT TO:<bob@example.net>")
        return driver
    }

    func testEHLOAdvertisesCHUNKING() throws {
        var driver = try SessionDriver()
        driver.start()
        XCTAssertTrue(driver.reply(to: "EHLO client.example")?.lines.contains("CHUNKING") == true)
    }

    func testChunksGet250AndLastHandsTheMessageToTheSinkAsDATADoes() throws {
        var chunked = try inTransaction()
        XCTAssertEqual(
            chunked.bdat("Subject: hi\r\n\r\n").replies.map(\.description),
            ["250 2.0.0 Ok: 15 octets received\r\n"]
        )
        XCTAssertEqual(chunked.session.chunkOctetsExpected, 0)
        let last = chunked.bdat(".Hello.\r\n", last: true)
        XCTAssertEqual(last.replies.map(\.description), ["250 2.0.0 Ok: queued as TESTSESSION-1\r\n"])
        XCTAssertEqual(last.logEvents.first?.metadata["message.size"], "24")

        var dotted = try inTransaction()
        for line in ["DATA", "Subject: hi", "", "..Hello.", "."] { dotted.send(line) }
        XCTAssertEqual(chunked.deliveries.count, 1)
        XCTAssertEqual(chunked.deliveries.first?.data, dotted.deliveries.first?.data, "same Received header and text")
        XCTAssertEqual(chunked.deliveries.first?.recipients, ["bob@example.net"])
    }

    func testCRLFSplitBetweenChunksIsACRLF() throws {
        var driver = try inTransaction()
        XCTAssertReply(driver.bdat("Subject: hi\r").replies.last, 250, "2.0.0")
        XCTAssertReply(driver.bdat("\n\r\nbody\r\n", last: true).replies.last, 250, "2.0.0")
        XCTAssertEqual(
            bodyAfterReceivedHeader(driver.deliveries.first?.data ?? []),
            Array("Subject: hi\r\n\r\nbody\r\n".utf8)
        )
    }

    func testOctetsArrivingOneAtATimeMakeTheSameMessage() throws {
        var driver = try inTransaction()
        XCTAssertTrue(driver.send("BDAT 8 LAST").replies.isEmpty, "the reply waits for the octets")
        for (index, octet) in "a\r\n\r\nb\r\n".utf8.enumerated() {
            XCTAssertEqual(driver.session.chunkOctetsExpected, 8 - index)
            driver.process(driver.session.receiveChunkOctets([octet]))
        }
        XCTAssertEqual(bodyAfterReceivedHeader(driver.deliveries.first?.data ?? []), Array("a\r\n\r\nb\r\n".utf8))
    }

    func testChunkOctetsAreNeverCommands() throws {
        var driver = try inTransaction()
        driver.send("BDAT 6")
        XCTAssertEqual(driver.session.chunkOctetsExpected, 6)
        let actions = driver.process(driver.session.receiveChunkOctets(Array("QUIT\r\n".utf8)))
        XCTAssertEqual(actions.replies.map(\.description), ["250 2.0.0 Ok: 6 octets received\r\n"])
        XCTAssertFalse(driver.session.isClosed)
    }

    func testLastChunkWithoutFinalCRLFGetsOne() throws {
        var driver = try inTransaction()
        driver.bdat("Subject: hi\r\n\r\nno line end", last: true)
        XCTAssertEqual(
            bodyAfterReceivedHeader(driver.deliveries.first?.data ?? []),
            Array("Subject: hi\r\n\r\nno line end\r\n".utf8)
        )
    }

    func testBDATZeroLastIsValid() throws {
        var driver = try inTransaction()
        driver.bdat("Subject: hi\r\n")
        XCTAssertReply(driver.bdat("", last: true).replies.last, 250, "2.0.0")
        XCTAssertEqual(bodyAfterReceivedHeader(driver.deliveries.first?.data ?? []), Array("Subject: hi\r\n".utf8))

        var empty = try inTransaction()
        XCTAssertReply(empty.reply(to: "BDAT 0 LAST"), 250, "2.0.0")
        XCTAssertEqual(empty.deliveries.count, 1)
    }

    // MARK: Refused messages

    func testBareLineFeedInAChunkIsRefusedAsInDATA() throws {
        var driver = try inTransaction()
        let actions = driver.bdat("Subject: hi\n\r\n.\r\n", last: true)
        XCTAssertEqual(actions.replies, [SMTPReply.bareLineEndingInData])
        XCTAssertTrue(driver.deliveries.isEmpty)
        XCTAssertEqual(actions.logEvents.last?.metadata["smtp.reason"], "bare CR or LF")
    }

    func testNULOctetInAChunkIsRefusedAsInDATA() throws {
        for text in ["a\r\n\u{0}.\r\nb\r\n", "a\r\n.\u{0}\r\nb\r\n"] {
            var driver = try inTransaction()
            let actions = driver.bdat(text, last: true)
            XCTAssertEqual(actions.replies, [SMTPReply.nulInData])
            XCTAssertEqual(actions.logEvents.last?.metadata["smtp.reason"], "NUL octet")
            XCTAssertTrue(driver.deliveries.isEmpty)
        }
    }

    func testBareCarriageReturnIsRefusedWithinAndAcrossChunks() throws {
        var within = try inTransaction()
        XCTAssertReply(within.bdat("a\rb\r\n").replies.last, 554, "5.6.0")
        var across = try inTransaction()
        XCTAssertReply(across.bdat("a\r").replies.last, 250, "2.0.0")
        XCTAssertReply(across.bdat("b\r\n").replies.last, 554, "5.6.0")
        var atTheEnd = try inTransaction()
        XCTAssertReply(atTheEnd.bdat("a\r\nb\r", last: true).replies.last, 554, "5.6.0")
        XCTAssertTrue(within.deliveries.isEmpty && across.deliveries.isEmpty && atTheEnd.deliveries.isEmpty)
    }

    func testLineOverTheTextLimitIsRefusedAsInDATA() throws {
        var driver = try inTransaction()
        let line = String(repeating: "x", count: 999) + "\r\n"
        XCTAssertReply(driver.bdat(line, last: true).replies.last, 500, "5.5.6")
        XCTAssertTrue(driver.deliveries.isEmpty)
    }

    func testTooBigGets552OnceTheChunkIsReadAndTheSessionStaysInStep() throws {
        var driver = try inTransaction(limits: SMTPLimits(messageSize: 1024))
        XCTAssertReply(driver.bdat(String(repeating: "a\r\n", count: 300)).replies.last, 250, "2.0.0")
        XCTAssertTrue(driver.send("BDAT 200").replies.isEmpty)
        XCTAssertEqual(driver.session.chunkOctetsExpected, 200, "the rest of the chunk is still read")
        let actions = driver.process(driver.session.receiveChunkOctets(Array(repeating: 0x61, count: 200)))
        XCTAssertEqual(actions.replies, [SMTPReply.messageTooBig])
        XCTAssertReply(driver.reply(to: "NOOP"), 250, "2.0.0")
        XCTAssertReply(driver.reply(to: "MAIL FROM:<alice@example.org>"), 250, "2.1.0")
    }

    func testChunksPipelinedAfterAFailedOneAreDiscardedWithoutCountingAsErrors() throws {
        var driver = try inTransaction(limits: SMTPLimits(messageSize: 1024, errorsPerConnection: 2))
        XCTAssertReply(driver.bdat(String(repeating: "x", count: 2000)).replies.last, 552, "5.3.4")
        for _ in 0..<3 { XCTAssertReply(driver.bdat("more\r\n").replies.last, 503, "5.5.1") }
        XCTAssertReply(driver.bdat("end\r\n", last: true).replies.last, 503, "5.5.1")
        XCTAssertFalse(driver.session.isClosed)
        XCTAssertTrue(driver.deliveries.isEmpty)
    }

    // MARK: Order of commands

    func testBDATWithoutATransactionIs503AfterItsOctetsAreRead() throws {
        var driver = SessionDriver(try SessionFixture.configuration())
        driver.logIn()
        XCTAssertTrue(driver.send("BDAT 6").replies.isEmpty)
        XCTAssertEqual(driver.session.chunkOctetsExpected, 6)
        let actions = driver.process(driver.session.receiveChunkOctets(Array("QUIT\r\n".utf8)))
        XCTAssertReply(actions.replies.last, 503, "5.5.1")
        XCTAssertFalse(driver.session.isClosed)
        XCTAssertReply(driver.reply(to: "NOOP"), 250, "2.0.0")
    }

    func testABigChunkBeforeLoginIsRefusedAtOnceAndCloses() throws {
        var driver = SessionDriver(try SessionFixture.configuration(requiresTLS: false))
        driver.start()
        driver.send("EHLO client.example")
        let actions = driver.send("BDAT 100000000 LAST")
        XCTAssertReply(actions.replies.first, 503, "5.5.1")
        XCTAssertEqual(actions.replies.count, 1)
        XCTAssertTrue(driver.session.isClosed)
        XCTAssertEqual(driver.session.chunkOctetsExpected, 0, "nothing more is read")
    }

    func testASmallChunkBeforeLoginIsReadAndRefused() throws {
        var driver = SessionDriver(try SessionFixture.configuration(requiresTLS: false))
        driver.start()
        driver.send("EHLO client.example")
        XCTAssertTrue(driver.send("BDAT 6").replies.isEmpty)
        let actions = driver.process(driver.session.receiveChunkOctets(Array("QUIT\r\n".utf8)))
        XCTAssertReply(actions.replies.last, 503, "5.5.1")
        XCTAssertReply(driver.reply(to: "NOOP"), 250, "2.0.0")
    }

    func testBDATWithoutRecipientsIs503() throws {
        var driver = SessionDriver(try SessionFixture.configuration())
        driver.logIn()
        driver.send("MAIL FROM:<alice@example.org>")
        XCTAssertReply(driver.bdat("hello\r\n", last: true).replies.last, 503, "5.5.1")
        XCTAssertReply(driver.reply(to: "RCPT TO:<bob@example.net>"), 250, "2.1.5")
    }

    func testDATAAfterBDATIs503() throws {
        var driver = try inTransaction()
        driver.bdat("Subject: hi\r\n")
        XCTAssertReply(driver.reply(to: "DATA"), 503, "5.5.1")
        XCTAssertReply(driver.bdat("body\r\n", last: true).replies.last, 250, "2.0.0")
    }

    func testRSETDiscardsTheChunks() throws {
        var driver = try inTransaction()
        driver.bdat("Subject: first\r\n")
        XCTAssertReply(driver.reply(to: "RSET"), 250, "2.0.0")
        driver.send("MAIL FROM:<alice@example.org>")
        driver.send("RCPT TO:<bob@example.net>")
        driver.bdat("Subject: second\r\n", last: true)
        XCTAssertEqual(
            bodyAfterReceivedHeader(driver.deliveries.first?.data ?? []),
            Array("Subject: second\r\n".utf8)
        )
    }

    func testUnreadableBDATSizeIs501AndCloses() throws {
        for line in ["BDAT", "BDAT x", "BDAT -1", "BDAT 99999999999999999999999", "BDAT 5 MORE", "BDAT 5 LAST x"] {
            var driver = try inTransaction()
            let actions = driver.send(line)
            XCTAssertReply(actions.replies.first, 501, "5.5.4")
            XCTAssertTrue(actions.closes, line)
            XCTAssertEqual(actions.logEvents.last?.metadata["smtp.reason"], "BDAT framing lost")
        }
    }

    func testCHUNKINGTurnedOffRefusesBDATAfterReadingItsOctets() throws {
        var configuration = try SessionFixture.configuration()
        configuration.offersChunking = false
        var driver = SessionDriver(configuration)
        driver.logIn()
        XCTAssertFalse(driver.actions.replies.contains { $0.lines.contains("CHUNKING") })
        driver.send("MAIL FROM:<alice@example.org>")
        driver.send("RCPT TO:<bob@example.net>")
        XCTAssertReply(driver.bdat("QUIT\r\n", last: true).replies.last, 502, "5.5.1")
        XCTAssertFalse(driver.session.isClosed)
        XCTAssertTrue(driver.deliveries.isEmpty)
        let help = try XCTUnwrap(driver.reply(to: "HELP"))
        XCTAssertEqual(help.code, 214)
        XCTAssertFalse(help.lines.joined().contains("BDAT"), "\(help.lines)")
    }

    func testHELPListsBDATWhenCHUNKINGIsOffered() throws {
        var driver = SessionDriver(try SessionFixture.configuration())
        driver.establishTLS()
        let help = try XCTUnwrap(driver.reply(to: "HELP"))
        XCTAssertTrue(help.lines.joined().contains("DATA BDAT"), "\(help.lines)")
    }
}
