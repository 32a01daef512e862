import Foundation
import NIOCore
import NIOEmbedded
import NIOSSL
import NIOTLS
import SASLMechanisms
import ServerKit
import ServerKitTestSupport
import XCTest

@testable import SMTPSubmission

/// STARTTLS and implicit TLS through real handshakes between two `EmbeddedChannel`s, no sockets.
final class STARTTLSTests: XCTestCase {
    private var logs = RecordingLogHandler.Store()

    override func setUp() {
        logs = RecordingLogHandler.Store()
    }

    private struct Pair {
        var server: EmbeddedChannel
        var client: EmbeddedChannel
    }

    private func makePair(implicitTLS: Bool = false) throws -> Pair {
        let material = try TestCertificate.material()
        var configuration = try SMTPSessionConfiguration.serverTest(
            mechanisms: ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "PLAIN"]
        )
        configuration.offersStartTLS = !implicitTLS
        let session = SMTPSession(
            configuration: configuration,
            clientAddress: "192.0.2.8",
            sessionID: "TLSSESSION",
            isTLS: implicitTLS,
            channelBindings: implicitTLS ? material.channelBindings : []
        )
        let handler = SMTPSessionHandler(
            session: session,
            environment: .init(
                sink: RecordingSink(),
                logger: RecordingLogHandler.logger(logs),
                authFailures: nil,
                threadPool: nil,
                tls: material,
                implicitTLS: implicitTLS,
                commandTimeout: .seconds(300)
            )
        )
        let server = EmbeddedChannel()
        if implicitTLS {
            try server.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: material.context))
        }
        try server.pipeline.syncOperations.addHandler(handler)
        let client = EmbeddedChannel()
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: 25)
        try server.connect(to: address).wait()
        try client.connect(to: address).wait()
        return Pair(server: server, client: client)
    }

    private func startClientTLS(_ pair: Pair) throws {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        let context = try NIOSSLContext(configuration: configuration)
        try pair.client.pipeline.syncOperations.addHandler(
            try NIOSSLClientHandler(context: context, serverHostname: nil)
        )
        try interactInMemory(pair.client, pair.server)
    }

    /// Plaintext the server sent, as the client receives it.
    private func clientReceived(_ pair: Pair) throws -> String {
        try interactInMemory(pair.client, pair.server)
        var text = ""
        while let buffer = try pair.client.readInbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
        return text
    }

    private func clientSends(_ pair: Pair, _ text: String) throws {
        try pair.client.writeAndFlush(pair.client.allocator.buffer(string: text)).wait()
        try interactInMemory(pair.client, pair.server)
    }

    func testCommandsPipelinedAfterSTARTTLSAreNeverExecuted() throws {
        let pair = try makePair()
        XCTAssertEqual(try clientReceived(pair), "220 mail.example.org ESMTP\r\n")
        try clientSends(pair, "EHLO client.example\r\n")
        let plainEHLO = try clientReceived(pair)
        XCTAssertTrue(plainEHLO.contains("250-STARTTLS\r\n") || plainEHLO.contains("250 STARTTLS\r\n"), plainEHLO)
        XCTAssertFalse(plainEHLO.contains("AUTH"), "no AUTH before TLS")
        // The attack of CVE-2011-0411: commands in the same packet as STARTTLS, in the clear.
        try clientSends(
            pair,
            "STARTTLS\r\nAUTH PLAIN \(SessionFixture.plain("alice", SessionFixture.password))\r\nNOOP\r\n"
        )
        XCTAssertEqual(try clientReceived(pair), "220 2.0.0 Ready to start TLS\r\n", "nothing answered after the 220")
        try startClientTLS(pair)
        try clientSends(pair, "MAIL FROM:<alice@example.org>\r\n")
        XCTAssertEqual(
            try clientReceived(pair),
            "503 5.5.1 Send EHLO first\r\n",
            "the injected AUTH did not authenticate the TLS session"
        )
        try clientSends(pair, "EHLO client.example\r\n")
        let ehlo = try clientReceived(pair)
        XCTAssertTrue(ehlo.contains("AUTH SCRAM-SHA-256-PLUS SCRAM-SHA-256 PLAIN\r\n"), ehlo)
        XCTAssertFalse(ehlo.contains("STARTTLS"), ehlo)
        XCTAssertTrue(logs.all.contains { $0.message == "input after STARTTLS dropped" })
    }

    func testAUTHWorksOverTheUpgradedConnection() throws {
        let pair = try makePair()
        _ = try clientReceived(pair)
        try clientSends(pair, "EHLO client.example\r\nSTARTTLS\r\n")
        XCTAssertTrue(try clientReceived(pair).hasSuffix("220 2.0.0 Ready to start TLS\r\n"))
        try startClientTLS(pair)
        try clientSends(
            pair,
            "EHLO client.example\r\nAUTH PLAIN \(SessionFixture.plain("alice", SessionFixture.password))\r\n"
        )
        XCTAssertTrue(try clientReceived(pair).hasSuffix("235 2.7.0 Authentication successful\r\n"))
    }

    func testPlaintextSentBeforeTheClientHelloBreaksTheHandshake() throws {
        let pair = try makePair()
        _ = try clientReceived(pair)
        try clientSends(pair, "EHLO client.example\r\nSTARTTLS\r\n")
        _ = try clientReceived(pair)
        // Injected in its own packet after the 220: it reaches the TLS handler, not the session.
        _ = try? pair.server.writeInbound(pair.server.allocator.buffer(string: "MAIL FROM:<evil@example.org>\r\n"))
        pair.server.embeddedEventLoop.run()
        XCTAssertFalse(pair.server.isActive)
        while let buffer = try? pair.server.readOutbound(as: ByteBuffer.self) {
            XCTAssertFalse(String(buffer: buffer).contains("250"))
        }
    }

    func testSTARTTLSTwiceIsRefused() throws {
        let pair = try makePair()
        _ = try clientReceived(pair)
        try clientSends(pair, "EHLO client.example\r\nSTARTTLS\r\n")
        _ = try clientReceived(pair)
        try startClientTLS(pair)
        try clientSends(pair, "EHLO client.example\r\nSTARTTLS\r\n")
        XCTAssertTrue(try clientReceived(pair).hasSuffix("503 5.5.1 TLS already active\r\n"))
    }

    func testImplicitTLSGreetsOverTLS() throws {
        let pair = try makePair(implicitTLS: true)
        try startClientTLS(pair)
        XCTAssertEqual(try clientReceived(pair), "220 mail.example.org ESMTP\r\n")
        try clientSends(pair, "EHLO client.example\r\n")
        let ehlo = try clientReceived(pair)
        XCTAssertTrue(ehlo.contains("AUTH SCRAM-SHA-256-PLUS SCRAM-SHA-256 PLAIN\r\n"), ehlo)
        XCTAssertFalse(ehlo.contains("STARTTLS"))
    }

    func testHandshakeMustFinishWithinTheCommandTimeout() throws {
        let pair = try makePair(implicitTLS: true)
        pair.server.embeddedEventLoop.advanceTime(by: .seconds(301))
        XCTAssertFalse(pair.server.isActive)
    }

    func testChannelBindingIsTheSHA256OfTheCertificateAsOpenSSLComputesIt() throws {
        let files = try TestCertificate.files()
        let material = try TestCertificate.material()
        let der = ProcessRunner.run(
            "/bin/sh",
            ["-c", "openssl x509 -in '\(files.certificatePath)' -outform DER | openssl dgst -sha256 -r"],
            timeout: 30
        )
        let hex = String(der.standardOutput.prefix(64))
        XCTAssertEqual(material.channelBindings.count, 1)
        XCTAssertEqual(material.channelBindings.first?.type, "tls-server-end-point")
        XCTAssertEqual(material.channelBindings.first?.data.map { String(format: "%02x", $0) }.joined(), hex)
    }

    func testUnreadableKeyIsReportedWithItsPath() throws {
        let files = try TestCertificate.files()
        let configuration = SMTPServerConfiguration(
            listeners: [.init(host: "127.0.0.1", port: 0, kind: .submission)],
            tls: ServerTLSConfiguration(
                certificateChainPath: files.certificatePath,
                privateKeyPath: "/nonexistent/key.pem"
            )
        )
        XCTAssertThrowsError(
            try SMTPServer(
                configuration: configuration,
                sessionConfiguration: try .serverTest(),
                sink: RecordingSink(),
                logger: RecordingLogHandler.logger(logs)
            )
        ) { error in
            XCTAssertEqual(error as? SMTPServerError, .tlsUnreadable)
            XCTAssertTrue("\(error)".contains("/nonexistent/key.pem"))
        }
    }
}
