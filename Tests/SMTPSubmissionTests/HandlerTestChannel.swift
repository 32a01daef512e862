import Logging
import NIOCore
import NIOEmbedded
import NIOPosix
import ServerKit
import XCTest

@testable import SMTPSubmission

/// A session handler on an `EmbeddedChannel`, driven through its real line decoder: bytes in, reply text out.
enum HandlerTestChannel {
    /// A channel whose handler serves a session of `configuration` for the client 192.0.2.7, connected (the greeting
    /// is written, or held for the failure delay of `authFailures`).
    static func connected(
        configuration: SMTPSessionConfiguration,
        sink: RecordingSink = RecordingSink(),
        logger: Logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
        authFailures: AuthFailureTracker? = nil,
        accountFailures: AuthFailureTracker? = nil,
        threadPool: NIOThreadPool? = nil,
        commandTimeout: TimeAmount = .seconds(300)
    ) throws -> EmbeddedChannel {
        let session = SMTPSession(configuration: configuration, clientAddress: "192.0.2.7", sessionID: "TESTSESSION")
        let handler = SMTPSessionHandler(
            session: session,
            environment: .init(
                sink: sink,
                logger: logger,
                authFailures: authFailures,
                threadPool: threadPool,
                tls: nil,
                implicitTLS: false,
                commandTimeout: commandTimeout,
                accountFailures: accountFailures
            )
        )
        let channel = EmbeddedChannel(handler: handler)
        try channel.connect(to: SocketAddress(ipAddress: "192.0.2.7", port: 40000)).wait()
        return channel
    }

    /// A connected channel (no TLS required) delivering to `sink`, greeted, past EHLO and AUTH PLAIN, replies read.
    static func loggedIn(sink: RecordingSink = RecordingSink()) throws -> EmbeddedChannel {
        let channel = try connected(
            configuration: try SMTPSessionConfiguration.serverTest(requiresTLS: false, allowedWithoutTLS: ["PLAIN"]),
            sink: sink
        )
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
