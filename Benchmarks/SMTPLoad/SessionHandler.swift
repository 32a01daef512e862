import NIOCore
import NIOSSL

/// One client session: reads replies, checks each code, sends the next command of the workload.
///
/// Reports to its ``LoadDriver`` exactly once: success at the `221` to QUIT (or when held open), failure at the first
/// unexpected reply, error or early close. Lives on the driver's event loop, like the driver.
final class SessionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let script: SessionScript
    private let driver: LoadDriver
    private let started: NIODeadline
    private var reader = ReplyReader()
    private var step = SessionStep.greeting
    private var reported = false
    private var context: ChannelHandlerContext?

    init(script: SessionScript, driver: LoadDriver, started: NIODeadline) {
        self.script = script
        self.driver = driver
        self.started = started
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        driver.sessionOpened(self)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if step == .held || !reported {
            fail(driver.expired ? "deadline" : "closed by server in step \(step.rawValue)")
        }
        driver.sessionClosed(self)
        self.context = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !reported || step == .held {
            fail("error in step \(step.rawValue): \(error)")
        }
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        reader.append(&buffer)
        do {
            while let reply = try reader.nextReply() {
                handle(reply, context: context)
                if reported && step != .held { return }
            }
        } catch {
            fail("\(error) in step \(step.rawValue)")
            context.close(promise: nil)
        }
    }

    /// Ends a held session: QUIT, then the `221` reports success.
    func release() {
        guard step == .held, let context else { return }
        reported = false
        step = .quit
        send("QUIT", context: context)
    }

    /// Closes the connection at once (the deadline passed).
    func abort() {
        context?.close(promise: nil)
    }

    // MARK: - Steps

    private func handle(_ reply: ReplyReader.Reply, context: ChannelHandlerContext) {
        guard reply.code == step.expectedCode else {
            fail("\(step.rawValue): expected \(step.expectedCode), got \(reply.code)")
            context.close(promise: nil)
            return
        }
        switch step {
        case .greeting:
            send("EHLO \(script.heloName)", context: context)
            step = .firstEHLO
        case .firstEHLO:
            switch script.workload {
            case .tlsAuth, .tlsMessage, .idleAuth:
                send("STARTTLS", context: context)
                step = .startTLS
            case .cramMD5:
                send("AUTH CRAM-MD5", context: context)
                step = .authChallenge
            case .idleEHLO:
                hold()
            }
        case .startTLS:
            guard let tls = script.tlsContext else {
                fail("no TLS context")
                context.close(promise: nil)
                return
            }
            do {
                let handler = try NIOSSLClientHandler(context: tls, serverHostname: nil)
                try context.pipeline.syncOperations.addHandler(handler, position: .first)
            } catch {
                fail("cannot start TLS: \(error)")
                context.close(promise: nil)
                return
            }
            send("EHLO \(script.heloName)", context: context)
            step = .secondEHLO
        case .secondEHLO:
            send(script.authPlainCommand, context: context)
            step = .auth
        case .authChallenge:
            let text = reply.lastLine.dropFirst(4)
            guard let response = script.cramMD5Response(toChallenge: text) else {
                fail("CRAM-MD5 challenge is not base64")
                context.close(promise: nil)
                return
            }
            send(response, context: context)
            step = .auth
        case .auth:
            switch script.workload {
            case .tlsMessage:
                send("MAIL FROM:<\(script.sender)>", context: context)
                step = .mailFrom
            case .idleAuth:
                hold()
            case .tlsAuth, .cramMD5, .idleEHLO:
                quit(context: context)
            }
        case .mailFrom:
            send("RCPT TO:<\(script.recipient)>", context: context)
            step = .rcptTo
        case .rcptTo:
            send("DATA", context: context)
            step = .data
        case .data:
            context.writeAndFlush(wrapOutboundOut(script.message), promise: nil)
            step = .body
        case .body:
            quit(context: context)
        case .quit:
            step = .done
            reported = true
            driver.sessionSucceeded(started: started)
            context.close(promise: nil)
        case .held, .done:
            fail("unexpected reply \(reply.code) in step \(step.rawValue)")
            context.close(promise: nil)
        }
    }

    private func quit(context: ChannelHandlerContext) {
        send("QUIT", context: context)
        step = .quit
    }

    private func hold() {
        step = .held
        reported = true
        driver.sessionHeld(started: started)
    }

    private func send(_ line: String, context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: line.utf8.count + 2)
        buffer.writeString(line)
        buffer.writeStaticString("\r\n")
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    private func fail(_ reason: String) {
        if step == .held {
            step = .done
            driver.sessionFailed(reason, wasHeld: true)
            return
        }
        guard !reported else { return }
        reported = true
        driver.sessionFailed(reason, wasHeld: false)
    }
}
