import Logging
import NIOCore
import NIOEmbedded
import XCTest

@testable import SMTPSubmission

/// A session handler on an `EmbeddedChannel`, driven through its real line decoder: bytes in, reply text out.
enum HandlerTestChannel {
    /// A connected channel (no TLS required) delivering to `sink`, greeted, past EHLO and AUTH PLAIN, replies read.
    static func loggedIn(sink: RecordingSink = RecordingSink()) throws -> EmbeddedChannel {
        let configuration = try SMTPSessionConfiguration.serverTest(requiresTLS: false, allowedWithoutTLS: ["PLAIN"])
        let session = SMTPSession(configuration: configuration, clientAddress: "192.0.2.7", sessionID: "TESTSESSION")
        let handler = SMTPSessionHandler(
            session: session,
            environment: .init(
                sink: sink,
                logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
                authFailures: nil,
                threadPool: nil,
                tls: nil,
                implicitTLS: false,
                commandTimeout: .seconds(300)
            )
        )
        let channel = EmbeddedChannel(handler: handler)
        try channel.connect(to: SocketAddress(ipAddress: "192.0.2.7", port: 40000)).wait()
        try send(channel, "EHLO c\r\nAUTH PLAIN \(SessionFixture.plain("alice", SessionFixture.password))\r\n")
        XCTAssertTrue(try replies(channel).hasSuffix("235 2.7.0 Authentication successful\r\n"))
        return channel
    }

    static func send(_ channel: EmbeddedChannel, _ text: String) throws {
        try send(channel, Array(text.utf8))
    }

    static func send(_ channel: EmbeddedChannel, _ bytes: [UInt8]) throws {
        try channel.writeInbound(channel.allocator.buffer(bytes: bytes))
    }

    /// Everything the handler wrote since the last call.
    static func replies(_ channel: EmbeddedChannel) throws -> String {
        var text = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
        return text
    }
}
