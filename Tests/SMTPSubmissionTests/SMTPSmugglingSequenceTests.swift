import NIOCore
import NIOEmbedded
import XCTest

@testable import SMTPSubmission

/// The fake end-of-data sequences of the SMTP smuggling research (SEC Consult, 2023), each sent through the real line
/// decoder and session after an authenticated DATA or inside a BDAT chunk, with a second message behind it: every one
/// refuses the message with 554 5.6.0, nothing reaches the sink, and the smuggled commands are never answered.
final class SMTPSmugglingSequenceTests: XCTestCase {
    /// The ten sequences: eight with a bare CR or LF, two with a NUL beside the dot.
    static let fakeEndsOfData: [(name: String, bytes: [UInt8])] = [
        ("<LF>.<LF>", Array("\n.\n".utf8)),
        ("<LF>.<CR><LF>", Array("\n.\r\n".utf8)),
        ("<CR>.<CR>", Array("\r.\r".utf8)),
        ("<CR>.<CR><LF>", Array("\r.\r\n".utf8)),
        ("<CR><LF>.<LF>", Array("\r\n.\n".utf8)),
        ("<CR><LF>.<CR>", Array("\r\n.\r".utf8)),
        ("<LF>.<CR>", Array("\n.\r".utf8)),
        ("<CR><LF>.<CR><CR><LF>", Array("\r\n.\r\r\n".utf8)),
        ("<CR><LF><NUL>.<CR><LF>", [13, 10, 0, 46, 13, 10]),
        ("<CR><LF>.<NUL><CR><LF>", [13, 10, 46, 0, 13, 10]),
    ]

    private let envelope = "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\n"
    private let smuggled = Array(
        "MAIL FROM:<ceo@example.org>\r\nRCPT TO:<victim@example.net>\r\nDATA\r\nforged\r\n".utf8
    )

    func testEveryFakeEndOfDataRefusesTheMessageInDATA() throws {
        for (name, sequence) in Self.fakeEndsOfData {
            let sink = RecordingSink()
            let channel = try HandlerTestChannel.loggedIn(sink: sink)
            try HandlerTestChannel.send(channel, envelope + "DATA\r\n")
            XCTAssertTrue(try HandlerTestChannel.replies(channel).hasSuffix("354 End data with <CR><LF>.<CR><LF>\r\n"))
            try HandlerTestChannel.send(channel, Array("Subject: first\r\n\r\nhello".utf8) + sequence + smuggled)
            XCTAssertEqual(try HandlerTestChannel.replies(channel), "", "\(name): answered before the real end")
            try HandlerTestChannel.send(channel, "\r\n.\r\nNOOP\r\n")
            let replies = try HandlerTestChannel.replies(channel)
            XCTAssertTrue(replies.hasPrefix("554 5.6.0 "), "\(name): \(replies)")
            XCTAssertTrue(replies.hasSuffix("250 2.0.0 Ok\r\n"), "\(name): \(replies)")
            XCTAssertEqual(replies.components(separatedBy: "\r\n").count, 3, "\(name): \(replies)")
            XCTAssertTrue(sink.messages.isEmpty, name)
        }
    }

    func testEveryFakeEndOfDataRefusesTheMessageInBDAT() throws {
        for (name, sequence) in Self.fakeEndsOfData {
            let sink = RecordingSink()
            let channel = try HandlerTestChannel.loggedIn(sink: sink)
            let chunk = Array("Subject: first\r\n\r\nhello".utf8) + sequence + smuggled + Array("\r\n".utf8)
            try HandlerTestChannel.send(channel, Array((envelope + "BDAT \(chunk.count) LAST\r\n").utf8) + chunk)
            let replies = try HandlerTestChannel.replies(channel)
            XCTAssertTrue(
                replies.hasPrefix("250 2.1.0 Sender ok\r\n250 2.1.5 Recipient ok\r\n554 5.6.0 "),
                "\(name): \(replies)"
            )
            XCTAssertEqual(replies.components(separatedBy: "\r\n").count, 4, "\(name): \(replies)")
            XCTAssertTrue(sink.messages.isEmpty, name)
        }
    }
}
