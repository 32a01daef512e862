import NIOCore
import NIOEmbedded
import XCTest

@testable import SMTPSubmission

final class SMTPLineDecoderTests: XCTestCase {
    private func makeChannel(limit: Int = 16) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            ByteToMessageHandler(SMTPLineDecoder(maximumLineLength: limit))
        )
        return channel
    }

    private func feed(_ channel: EmbeddedChannel, _ text: String) throws {
        try channel.writeInbound(channel.allocator.buffer(string: text))
    }

    private func events(_ channel: EmbeddedChannel) throws -> [SMTPLineEvent] {
        var events: [SMTPLineEvent] = []
        while let event = try channel.readInbound(as: SMTPLineEvent.self) { events.append(event) }
        return events
    }

    private func line(_ text: String) -> SMTPLineEvent { .line(Array(text.utf8)) }

    /// Drives the decoder directly, the way the session handler does.
    private func decodeAll(_ decoder: inout SMTPLineDecoder, _ buffer: inout ByteBuffer) -> [SMTPLineEvent] {
        var events: [SMTPLineEvent] = []
        while let event = decoder.decode(buffer: &buffer) { events.append(event) }
        return events
    }

    func testLinesEndOnlyAtCRLFAndComeOutWithoutIt() throws {
        let channel = try makeChannel()
        try feed(channel, "EHLO a\r\nMAIL FROM:<>\r\n\r\nQUIT")
        XCTAssertEqual(try events(channel), [line("EHLO a"), line("MAIL FROM:<>"), line("")])
        try feed(channel, "\r\n")
        XCTAssertEqual(try events(channel), [line("QUIT")])
        XCTAssertTrue(try channel.finish().isClean)
    }

    func testBytesFedOneAtATimeGiveTheSameLines() throws {
        let channel = try makeChannel()
        for byte in "EHLO a\r\nNOOP\r\n.\r\n".utf8 {
            try channel.writeInbound(channel.allocator.buffer(bytes: [byte]))
        }
        XCTAssertEqual(try events(channel), [line("EHLO a"), line("NOOP"), line(".")])
    }

    func testBareLFIsReportedInPlaceOfALineEnding() throws {
        let channel = try makeChannel()
        try feed(channel, "data\n.\r\nNOOP\r\n")
        XCTAssertEqual(try events(channel), [.bareLineEnding, line("."), line("NOOP")])
    }

    func testBareLFIsReportedAtOnceForAnLFOnlyClient() throws {
        let channel = try makeChannel()
        try feed(channel, "EHLO a\n")
        XCTAssertEqual(try events(channel), [.bareLineEnding])
        try feed(channel, "QUIT\r\n")
        XCTAssertEqual(try events(channel), [line("QUIT")])
    }

    func testBareCRIsReportedAndTheBytesBeforeItAreDropped() throws {
        let channel = try makeChannel(limit: 32)
        try feed(channel, "text\r.\rMAIL FROM:<x>\r\n")
        XCTAssertEqual(try events(channel), [.bareLineEnding, .bareLineEnding, line("MAIL FROM:<x>")])
    }

    /// Every smuggling form: a lone dot may come out only right after a bare line ending was reported (so the session
    /// knows it does not follow a CRLF), never as a line that follows a real CRLF.
    func testSmugglingSequencesFedByteByByteNeverYieldADotAfterACRLF() throws {
        let attacks = ["a\n.\n", "a\n.\r\n", "a\r\n.\n", "a\r.\r", "a\r.\r\n", "a\r\n.\r", "a\n.\r", "a\r.\n"]
        for attack in attacks {
            let channel = try makeChannel()
            for byte in (attack + "MAIL FROM:<evil>\r\n").utf8 {
                try channel.writeInbound(channel.allocator.buffer(bytes: [byte]))
            }
            let found = try events(channel)
            for (index, event) in found.enumerated() where event == line(".") {
                XCTAssertGreaterThan(index, 0, attack.debugDescription)
                XCTAssertEqual(found[index - 1], .bareLineEnding, "\(attack.debugDescription) gave \(found)")
            }
            XCTAssertTrue(found.contains(.bareLineEnding), attack.debugDescription)
        }
    }

    func testCRCRLFReportsTheBareCRThenAnEmptyLine() throws {
        let channel = try makeChannel()
        try feed(channel, "NOOP\r\r\nQUIT\r\n")
        XCTAssertEqual(try events(channel), [.bareLineEnding, line(""), line("QUIT")])
    }

    func testCRLFSplitAcrossReadsEndsTheLine() throws {
        let channel = try makeChannel()
        try feed(channel, "NOOP\r")
        XCTAssertEqual(try events(channel), [])
        try feed(channel, "\nQUIT\r\n")
        XCTAssertEqual(try events(channel), [line("NOOP"), line("QUIT")])
    }

    func testLineOfExactlyTheLimitPasses() throws {
        let channel = try makeChannel(limit: 4)
        try feed(channel, "1234\r\n")
        XCTAssertEqual(try events(channel), [line("1234")])
    }

    func testOverlongLineIsReportedOnceAndDiscardedToTheNextCRLF() throws {
        let channel = try makeChannel(limit: 4)
        try feed(channel, "12345")
        XCTAssertEqual(try events(channel), [.lineTooLong])
        try feed(channel, String(repeating: "x", count: 10_000))
        try feed(channel, "\r")
        XCTAssertEqual(try events(channel), [])
        try feed(channel, "\nNOOP\r\n")
        XCTAssertEqual(try events(channel), [line("NOOP")])
    }

    func testOverlongLineHoldsBoundedMemory() {
        var decoder = SMTPLineDecoder(maximumLineLength: 100)
        var buffer = ByteBuffer()
        var reported = 0
        for _ in 0..<1000 {
            buffer.writeBytes([UInt8](repeating: UInt8(ascii: "a"), count: 1000))
            reported += decodeAll(&decoder, &buffer).count
            XCTAssertLessThanOrEqual(buffer.readableBytes, 101)
        }
        XCTAssertEqual(reported, 1)
    }

    func testOverlongLineEndingInCRLFSplitAcrossTheDiscard() throws {
        let channel = try makeChannel(limit: 4)
        try feed(channel, "123456\r")
        try feed(channel, "\n")
        try feed(channel, "ok\r\n")
        XCTAssertEqual(try events(channel), [.lineTooLong, line("ok")])
    }

    func testTrailingCRAtTheLimitIsNotCountedAsContent() throws {
        let channel = try makeChannel(limit: 4)
        try feed(channel, "1234\r")
        XCTAssertEqual(try events(channel), [])
        try feed(channel, "\n")
        XCTAssertEqual(try events(channel), [line("1234")])
    }

    func testLimitChangeAppliesToTheNextLine() {
        var decoder = SMTPLineDecoder(maximumLineLength: 4)
        var buffer = ByteBuffer(string: "1234\r\n")
        XCTAssertEqual(decodeAll(&decoder, &buffer), [line("1234")])
        decoder.maximumLineLength = 2
        buffer.writeString("1234\r\n12\r\n")
        XCTAssertEqual(decodeAll(&decoder, &buffer), [.lineTooLong, line("12")])
    }

    func testLimitShrunkAfterPartialLineStillRefusesIt() {
        var decoder = SMTPLineDecoder(maximumLineLength: 10)
        var buffer = ByteBuffer(string: "12345")
        XCTAssertEqual(decodeAll(&decoder, &buffer), [])
        decoder.maximumLineLength = 2
        buffer.writeString("\r\n")
        XCTAssertEqual(decodeAll(&decoder, &buffer), [.lineTooLong])
        XCTAssertEqual(buffer.readableBytes, 0)
    }

    func testDropBufferedInputForgetsPipelinedBytesAndPartialState() {
        var decoder = SMTPLineDecoder(maximumLineLength: 16)
        var buffer = ByteBuffer(string: "STARTTLS\r\nMAIL FROM:<evil>\r\nRCPT")
        let first = decoder.decode(buffer: &buffer)
        XCTAssertEqual(first, line("STARTTLS"))
        XCTAssertEqual(decoder.dropBufferedInput(&buffer), "MAIL FROM:<evil>\r\nRCPT".utf8.count)
        XCTAssertEqual(buffer.readableBytes, 0)
        buffer.writeString("EHLO b\r\n")
        XCTAssertEqual(decodeAll(&decoder, &buffer), [line("EHLO b")])
    }

    func testDropBufferedInputLeavesDiscardMode() {
        var decoder = SMTPLineDecoder(maximumLineLength: 2)
        var buffer = ByteBuffer(string: "toolong")
        XCTAssertEqual(decodeAll(&decoder, &buffer), [.lineTooLong])
        _ = decoder.dropBufferedInput(&buffer)
        buffer.writeString("ok\r\n")
        XCTAssertEqual(decodeAll(&decoder, &buffer), [line("ok")])
    }

    func testPartialLineAtEOFIsDropped() throws {
        let channel = try makeChannel()
        try feed(channel, "NOOP\r\nQUI")
        XCTAssertEqual(try events(channel), [line("NOOP")])
        XCTAssertTrue(try channel.finish().isClean)
    }

    func testEightBitAndNULBytesPassThroughUnchanged() throws {
        let channel = try makeChannel(limit: 32)
        let bytes: [UInt8] = [0xC3, 0xA9, 0x00, 0xFF, 0x20, 0x2E]
        try channel.writeInbound(channel.allocator.buffer(bytes: bytes + [13, 10]))
        XCTAssertEqual(try events(channel), [.line(bytes)])
    }

    // MARK: BDAT chunks

    func testOctetsToReadPassRawThenLinesResume() {
        var decoder = SMTPLineDecoder(maximumLineLength: 16)
        var buffer = ByteBuffer(string: "BDAT 6\r\na\rb\n\r\nNOOP\r\n")
        XCTAssertEqual(decoder.decode(buffer: &buffer), line("BDAT 6"))
        decoder.octetsToRead = 6
        XCTAssertEqual(decodeAll(&decoder, &buffer), [.octets(Array("a\rb\n\r\n".utf8)), line("NOOP")])
        XCTAssertEqual(decoder.octetsToRead, 0)
    }

    func testOctetsFedOneAtATimeComeOutAsTheyArrive() {
        var decoder = SMTPLineDecoder(maximumLineLength: 16)
        decoder.octetsToRead = 3
        var events: [SMTPLineEvent] = []
        var buffer = ByteBuffer()
        for byte in "x\r\nQUIT\r\n".utf8 {
            buffer.writeInteger(byte)
            events += decodeAll(&decoder, &buffer)
        }
        XCTAssertEqual(events, [.octets([0x78]), .octets([13]), .octets([10]), line("QUIT")])
    }

    func testAChunkLongerThanTheLineLimitIsNotTooLong() {
        var decoder = SMTPLineDecoder(maximumLineLength: 4)
        decoder.octetsToRead = 10
        var buffer = ByteBuffer(string: "0123456789ok\r\n")
        XCTAssertEqual(decodeAll(&decoder, &buffer), [.octets(Array("0123456789".utf8)), line("ok")])
    }
}
