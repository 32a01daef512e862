import Logging
import NIOCore
import NIOEmbedded
import XCTest

@testable import SMTPSubmission

/// BDAT through the handler: the decoder switches to raw octets for each chunk and back to lines after it.
final class SMTPSessionHandlerChunkingTests: XCTestCase {
    private func loggedInChannel() throws -> EmbeddedChannel { try HandlerTestChannel.loggedIn() }

    private func send(_ channel: EmbeddedChannel, _ text: String) throws { try HandlerTestChannel.send(channel, text) }

    private func replies(_ channel: EmbeddedChannel) throws -> String { try HandlerTestChannel.replies(channel) }

    private let envelope = "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\n"

    func testPipelinedChunksAndCommandsAreFramedByTheAnnouncedSizes() throws {
        let channel = try loggedInChannel()
        try send(channel, envelope + "BDAT 6\r\nQUIT\r\nBDAT 3\r\na\r\nNOOP\r\n")
        XCTAssertEqual(
            try replies(channel),
            "250 2.1.0 Sender ok\r\n250 2.1.5 Recipient ok\r\n250 2.0.0 Ok: 6 octets received\r\n"
                + "250 2.0.0 Ok: 3 octets received\r\n250 2.0.0 Ok\r\n"
        )
        XCTAssertTrue(channel.isActive, "the QUIT inside the chunk is data")
    }

    func testChunkFedOneByteAtATimeIsAnsweredOnceComplete() throws {
        let channel = try loggedInChannel()
        try send(channel, envelope)
        _ = try replies(channel)
        for byte in "BDAT 4\r\n\r\n\r\nNOOP\r\n".utf8 {
            try channel.writeInbound(channel.allocator.buffer(bytes: [byte]))
        }
        XCTAssertEqual(try replies(channel), "250 2.0.0 Ok: 4 octets received\r\n250 2.0.0 Ok\r\n")
    }

    func testRefusedChunkIsStillReadSoTheNextCommandIsFound() throws {
        let channel = try loggedInChannel()
        try send(channel, "BDAT 12\r\nRSET\r\nQUIT\r\nNOOP\r\n")
        XCTAssertEqual(try replies(channel), "503 5.5.1 Need MAIL command\r\n250 2.0.0 Ok\r\n")
        XCTAssertTrue(channel.isActive)
    }

    func testUnreadableChunkSizeClosesTheConnection() throws {
        let channel = try loggedInChannel()
        try send(channel, "BDAT 1x\r\nNOOP\r\n")
        XCTAssertEqual(try replies(channel), "501 5.5.4 Syntax: BDAT size [LAST]\r\n")
        channel.embeddedEventLoop.run()
        XCTAssertFalse(channel.isActive)
    }
}
