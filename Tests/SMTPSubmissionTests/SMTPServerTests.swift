import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServerKit
import ServerKitTestSupport
import ServiceLifecycle
import Synchronization
import XCTest

@testable import SMTPSubmission

/// A plaintext line client over a real socket, every wait bounded.
private final class RawClient: Sendable {
    private struct Received {
        var text = ""
        var closed = false
    }

    private final class Inbox: Sendable {
        let state = Mutex(Received())
    }

    private let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
    private let inbox = Inbox()
    private let reader: Task<Void, Never>

    private init(_ channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>) {
        self.channel = channel
        let inbox = self.inbox
        self.reader = Task {
            do {
                for try await buffer in channel.inbound {
                    inbox.state.withLock { $0.text += String(buffer: buffer) }
                }
            } catch {}
            inbox.state.withLock { $0.closed = true }
        }
    }

    static func connect(port: Int) async throws -> RawClient {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(5))
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return RawClient(channel)
    }

    func send(_ text: String) async throws {
        try await channel.outbound.write(ByteBuffer(string: text))
    }

    /// What arrived until `text` appeared (then consumed), or until the server closed (`text` nil); fails after
    /// `timeout`.
    func read(until text: String? = nil, timeout: Duration = .seconds(10)) async throws -> String {
        let end = ContinuousClock.now + timeout
        while ContinuousClock.now < end {
            let found: String? = inbox.state.withLock { state in
                if let text, let range = state.text.range(of: text) {
                    let lineEnd = state.text[range.upperBound...].range(of: "\r\n")?.upperBound ?? state.text.endIndex
                    let taken = String(state.text[..<lineEnd])
                    state.text.removeSubrange(..<lineEnd)
                    return taken
                }
                if state.closed {
                    defer { state.text = "" }
                    return state.text
                }
                return nil
            }
            if let found { return found }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw TestSupportError("nothing matching \(text ?? "the end") within \(timeout)")
    }

    func close() async {
        channel.outbound.finish()
        channel.channel.close(promise: nil)
    }

    deinit {
        channel.outbound.finish()
        channel.channel.close(promise: nil)
    }
}

final class SMTPServerTests: XCTestCase {
    func testListeningAddressesGiveTheChosenPorts() async throws {
        let server = try await TestServer.start()
        XCTAssertEqual(server.addresses.count, 3)
        XCTAssertTrue(server.addresses.allSatisfy { ($0.port ?? 0) > 0 })
        let client = try await RawClient.connect(port: server.port(0))
        let greeting = try await client.read(until: "\r\n")
        XCTAssertEqual(greeting, "220 mail.example.org ESMTP\r\n")
        await client.close()
        await server.stop()
        do {
            _ = try await server.server.listeningAddresses()
            XCTFail("a stopped server has no addresses")
        } catch let error as SMTPServerError {
            XCTAssertEqual(error, .notListening)
        }
    }

    func testNoConnectionIsAcceptedUntilTheBeforeAcceptingHookReturns() async throws {
        let hook = HookObservation()
        let server = try await TestServer.start(
            kinds: [.plain],
            sessionConfiguration: try .serverTest(requiresTLS: false),
            beforeAccepting: { addresses in
                // A client connects while the hook runs (where the daemon drops root): it waits in the backlog.
                let client = try await RawClient.connect(port: addresses[0].port ?? 0)
                hook.client.withLock { $0 = client }
                let greeting = try? await client.read(until: "220 ", timeout: .milliseconds(500))
                hook.greeted.withLock { $0 = greeting != nil }
            }
        )
        addTeardownBlock { await server.stop() }
        XCTAssertEqual(hook.greeted.withLock { $0 }, false, "a connection was served before the hook returned")
        let client = try XCTUnwrap(hook.client.withLock { $0 })
        let greeting = try await client.read(until: "\r\n")
        XCTAssertEqual(greeting, "220 mail.example.org ESMTP\r\n", "served once the hook returned")
        await client.close()
    }

    func testFailingBeforeAcceptingHookStopsTheServerWithItsError() async throws {
        let server = try SMTPServer(
            configuration: SMTPServerConfiguration(listeners: [.init(host: "127.0.0.1", port: 0, kind: .plain)]),
            sessionConfiguration: try .serverTest(requiresTLS: false),
            sink: RecordingSink(),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
            beforeAccepting: { _ in throw TestSupportError("cannot drop privileges") }
        )
        do {
            try await server.run()
            XCTFail("run() returned")
        } catch {
            XCTAssertEqual("\(error)", "cannot drop privileges")
        }
        do {
            _ = try await server.listeningAddresses()
            XCTFail("the server listens")
        } catch {
            XCTAssertEqual(error as? SMTPServerError, .notListening)
        }
    }

    func testSubmissionListenerOffersSTARTTLSAndNoAUTHBeforeIt() async throws {
        let server = try await TestServer.start()
        addTeardownBlock { await server.stop() }
        let client = try await RawClient.connect(port: server.port(0))
        _ = try await client.read(until: "\r\n")
        try await client.send("EHLO client.example\r\n")
        let ehlo = try await client.read(until: "250 ")
        XCTAssertTrue(ehlo.contains("STARTTLS"), ehlo)
        XCTAssertFalse(ehlo.contains("AUTH"), ehlo)
        try await client.send("QUIT\r\n")
        let quitReply = try await client.read()
        XCTAssertTrue(quitReply.hasPrefix("221"))
        await client.close()
    }

    func testConnectionsOverThePerAddressLimitGet421() async throws {
        let server = try await TestServer.start(kinds: [.plain]) { $0.maximumConnectionsPerAddress = 2 }
        var clients: [RawClient] = []
        for _ in 0..<2 {
            let client = try await RawClient.connect(port: server.port(0))
            _ = try await client.read(until: "220 ")
            clients.append(client)
        }
        let refused = try await RawClient.connect(port: server.port(0))
        let refusal = try await refused.read()
        XCTAssertEqual(refusal, "421 4.7.0 Too many connections, try again later\r\n")
        XCTAssertEqual(server.server.connectionCount, 2)
        // A slot frees when a client leaves.
        await clients[0].close()
        try await Task.sleep(for: .milliseconds(200))
        let next = try await RawClient.connect(port: server.port(0))
        let greeting = try await next.read(until: "\r\n")
        XCTAssertTrue(greeting.hasPrefix("220 "))
        for client in clients + [refused, next] { await client.close() }
        await server.stop()
    }

    func testConnectionsOverTheTotalLimitGet421() async throws {
        let server = try await TestServer.start(kinds: [.plain]) { $0.maximumConnections = 1 }
        let first = try await RawClient.connect(port: server.port(0))
        _ = try await first.read(until: "220 ")
        let second = try await RawClient.connect(port: server.port(0))
        let refusal = try await second.read()
        XCTAssertTrue(refusal.hasPrefix("421 4.7.0"))
        await first.close()
        await second.close()
        await server.stop()
    }

    func testGracefulShutdownEndsIdleSessionsWith421AndReturns() async throws {
        let server = try await TestServer.start(kinds: [.plain])
        let idle = try await RawClient.connect(port: server.port(0))
        _ = try await idle.read(until: "220 ")
        try await idle.send("EHLO client.example\r\n")
        _ = try await idle.read(until: "250 ")
        try await server.shutDownGracefully()
        let reply = try await idle.read()
        XCTAssertEqual(reply, "421 4.3.2 mail.example.org Service shutting down\r\n")
        do {
            let late = try await RawClient.connect(port: server.port(0))
            await late.close()
            XCTFail("the listener is closed")
        } catch {}
        await idle.close()
    }

    func testGracefulShutdownLetsATransactionFinishThenEndsIt() async throws {
        let server = try await TestServer.start(
            kinds: [.plain],
            sessionConfiguration: try .serverTest(requiresTLS: false, allowedWithoutTLS: ["PLAIN"])
        )
        let client = try await RawClient.connect(port: server.port(0))
        _ = try await client.read(until: "220 ")
        try await client.send(
            "EHLO c\r\nAUTH PLAIN \(SessionFixture.plain("alice", SessionFixture.password))\r\nMAIL FROM:<alice@example.org>\r\n"
        )
        _ = try await client.read(until: "250 2.1.0")
        let shutdown = Task { try await server.shutDownGracefully() }
        try await Task.sleep(for: .milliseconds(200))
        try await client.send("RCPT TO:<bob@example.net>\r\nDATA\r\n")
        _ = try await client.read(until: "354 ")
        try await client.send("Subject: drained\r\n\r\nbody\r\n.\r\n")
        let end = try await client.read()
        XCTAssertTrue(end.hasPrefix("250 2.0.0 Ok: queued as "), end)
        XCTAssertTrue(end.hasSuffix("421 4.3.2 mail.example.org Service shutting down\r\n"), end)
        try await shutdown.value
        XCTAssertEqual(server.sink.messages.count, 1)
        await client.close()
    }

    func testGracefulShutdownClosesLeftoverSessionsAfterTheDrainTimeout() async throws {
        let server = try await TestServer.start(
            kinds: [.plain],
            sessionConfiguration: try .serverTest(requiresTLS: false, allowedWithoutTLS: ["PLAIN"])
        ) {
            $0.drainTimeout = .milliseconds(300)
        }
        let client = try await RawClient.connect(port: server.port(0))
        _ = try await client.read(until: "220 ")
        try await client.send(
            "EHLO c\r\nAUTH PLAIN \(SessionFixture.plain("alice", SessionFixture.password))\r\nMAIL FROM:<alice@example.org>\r\n"
        )
        _ = try await client.read(until: "250 2.1.0")
        let started = ContinuousClock.now
        try await server.shutDownGracefully()
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(5))
        let rest = try await client.read()
        XCTAssertEqual(rest, "", "closed without a reply: the transaction was not finished")
        await client.close()
    }

    private func submit(_ client: RawClient) async throws -> String {
        _ = try await client.read(until: "220 ")
        try await client.send(
            "EHLO c\r\nAUTH PLAIN \(SessionFixture.plain("alice", SessionFixture.password))\r\n"
                + "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n"
        )
        _ = try await client.read(until: "354 ")
        try await client.send("Subject: x\r\n\r\nbody\r\n.\r\nNOOP\r\n")
        return try await client.read(until: "250 2.0.0 Ok\r\n")
    }

    func testTemporarySinkFailureIsAnswered451() async throws {
        let server = try await TestServer.start(
            kinds: [.plain],
            sessionConfiguration: try .serverTest(requiresTLS: false, allowedWithoutTLS: ["PLAIN"]),
            sink: RecordingSink(failure: .temporary(reason: "disk full"))
        )
        addTeardownBlock { await server.stop() }
        let client = try await RawClient.connect(port: server.port(0))
        let replies = try await submit(client)
        XCTAssertTrue(replies.hasSuffix("451 4.3.0 Message not accepted, try again later\r\n250 2.0.0 Ok\r\n"), replies)
        XCTAssertFalse(replies.contains("disk full"), "the sink's reason stays in the log")
        await client.close()
    }

    func testMessageIsAcknowledgedOnlyAfterTheSinkReturns() async throws {
        let sink = GatedSink()
        let client = try await connectInData(to: sink)
        try await client.send("Subject: x\r\n\r\nbody\r\n.\r\nNOOP\r\n")
        try await sink.waitUntilCalled()
        do {
            let early = try await client.read(until: "250", timeout: .milliseconds(300))
            XCTFail("answered before the sink returned: \(early)")
        } catch {}
        sink.release()
        let replies = try await client.read(until: "250 2.0.0 Ok\r\n")
        XCTAssertTrue(replies.hasPrefix("250 2.0.0 Ok: queued as "), replies)
        await client.close()
    }

    func testCommandsPipelinedWhileTheSinkWorksAreAnsweredInOrderAfterIt() async throws {
        // The socket is read on during a delivery until input is buffered: commands sent in several writes meanwhile
        // are each answered once, in order, after the message's reply.
        let sink = GatedSink()
        let client = try await connectInData(to: sink)
        try await client.send("Subject: x\r\n\r\nbody\r\n.\r\n")
        try await sink.waitUntilCalled()
        try await client.send("NOOP\r\n")
        try await Task.sleep(for: .milliseconds(100))
        try await client.send("RSET\r\n")
        try await Task.sleep(for: .milliseconds(100))
        try await client.send("QUIT\r\n")
        try await Task.sleep(for: .milliseconds(100))
        sink.release()
        let replies = try await client.read()
        let codes = replies.split(separator: "\r\n").map { $0.prefix(3) }
        XCTAssertEqual(codes, ["250", "250", "250", "221"], replies)
        XCTAssertTrue(replies.hasPrefix("250 2.0.0 Ok: queued as "), replies)
    }

    /// A client of a server whose sink is `sink`, logged in (AUTH PLAIN in the clear) and answered `354` to DATA.
    private func connectInData(to sink: GatedSink) async throws -> RawClient {
        let gated = try SMTPServer(
            configuration: SMTPServerConfiguration(listeners: [.init(host: "127.0.0.1", port: 0, kind: .plain)]),
            sessionConfiguration: try .serverTest(requiresTLS: false, allowedWithoutTLS: ["PLAIN"]),
            sink: sink,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        let running = Task { try await gated.run() }
        addTeardownBlock {
            running.cancel()
            _ = try? await withTimeout(.seconds(10)) { try await running.value }
        }
        let port = try await withTimeout(.seconds(10)) { try await gated.listeningAddresses() }[0].port ?? 0
        let client = try await RawClient.connect(port: port)
        _ = try await client.read(until: "220 ")
        try await client.send(
            "EHLO c\r\nAUTH PLAIN \(SessionFixture.plain("alice", SessionFixture.password))\r\n"
                + "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n"
        )
        _ = try await client.read(until: "354 ")
        return client
    }

    func testReloadTLSKeepsServingAndNewConnectionsUseTheNewCertificate() async throws {
        let server = try await TestServer.start(kinds: [.implicitTLS])
        addTeardownBlock { await server.stop() }
        let files = try TestCertificate.files()
        let directory = files.directory.appendingPathComponent("reload-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let certificate = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        let made = await runProcess(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
                "-keyout", key, "-out", certificate, "-subj", "/CN=reloaded.example",
            ]
        )
        XCTAssertEqual(made.status, 0, made.standardError)
        XCTAssertThrowsError(
            try server.server.reloadTLS(
                ServerTLSConfiguration(certificateChainPath: certificate, privateKeyPath: "/none")
            )
        )
        try server.server.reloadTLS(ServerTLSConfiguration(certificateChainPath: certificate, privateKeyPath: key))
        let result = await runProcess(
            "/bin/sh",
            [
                "-c",
                "echo QUIT | openssl s_client -crlf -quiet -connect 127.0.0.1:\(server.port(0)) 2>/dev/null; "
                    + "echo | openssl s_client -connect 127.0.0.1:\(server.port(0)) 2>/dev/null | grep subject=",
            ],
            timeout: 30
        )
        XCTAssertTrue(result.standardOutput.contains("220 mail.example.org"), result.standardOutput)
        XCTAssertTrue(result.standardOutput.contains("CN = reloaded.example"), result.standardOutput)
    }

    func testBindFailureIsReported() async throws {
        let first = try await TestServer.start(kinds: [.plain])
        let taken = first.port(0)
        let server = try SMTPServer(
            configuration: SMTPServerConfiguration(listeners: [.init(host: "127.0.0.1", port: taken, kind: .plain)]),
            sessionConfiguration: try .serverTest(),
            sink: RecordingSink(),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        do {
            try await withTimeout(.seconds(10)) { try await server.run() }
            XCTFail("binding a taken port must fail")
        } catch let error as SMTPServerError {
            XCTAssertEqual(error, .bindFailed)
        }
        do {
            _ = try await server.listeningAddresses()
            XCTFail("no addresses after a failed start")
        } catch {}
        await first.stop()
    }

    func testTLSListenerWithoutTLSConfigurationIsRefused() throws {
        XCTAssertThrowsError(
            try SMTPServer(
                configuration: SMTPServerConfiguration(listeners: [.init(host: "127.0.0.1", port: 0, kind: .submission)]
                ),
                sessionConfiguration: try .serverTest(),
                sink: RecordingSink(),
                logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
            )
        ) { error in
            XCTAssertEqual(error as? SMTPServerError, .tlsRequired)
        }
    }

    func testConnectionsAreLoggedWithSessionFields() async throws {
        let server = try await TestServer.start(
            kinds: [.plain],
            sessionConfiguration: try .serverTest(requiresTLS: false, allowedWithoutTLS: ["PLAIN"])
        )
        let client = try await RawClient.connect(port: server.port(0))
        _ = try await client.read(until: "220 ")
        try await client.send(
            "EHLO c\r\nAUTH PLAIN \(SessionFixture.plain("alice", SessionFixture.password))\r\nQUIT\r\n"
        )
        _ = try await client.read()
        await client.close()
        await server.stop()
        let auth = server.logs.all.first { $0.metadata["auth.result"] == "success" }
        XCTAssertEqual(auth?.metadata["sasl.mechanism"], "PLAIN")
        XCTAssertEqual(auth?.metadata["sasl.user"], "alice@example.org")
        XCTAssertEqual(auth?.metadata["client.address"], "127.0.0.1")
        XCTAssertNotNil(auth?.metadata["smtp.session"])
        XCTAssertFalse(server.logs.text.contains(SessionFixture.password))
    }
}

/// What a `beforeAccepting` hook saw: the client it connected, and whether that client was greeted meanwhile.
private final class HookObservation: Sendable {
    let client = Mutex<RawClient?>(nil)
    let greeted = Mutex<Bool?>(nil)
}

/// A sink that holds each delivery until the test releases it.
private final class GatedSink: MessageSink {
    private let called = AsyncStream<Void>.makeStream()
    private let gate = AsyncStream<Void>.makeStream()

    func deliver(_ message: SubmittedMessage) async throws(MessageSinkError) {
        called.continuation.yield()
        for await _ in gate.stream { return }
    }

    func waitUntilCalled() async throws {
        let stream = called.stream
        try await withTimeout(.seconds(10)) {
            for await _ in stream { return }
        }
    }

    func release() { gate.continuation.yield() }
}
