import Logging
import NIOCore
import SASLDB

/// Serves one saslauthd connection: reads one request through a ``SaslauthdRequestParser``, has the
/// ``SaslauthdAuthenticator`` check it off the event loop, writes the reply and closes, as saslauthd does.
///
/// A length beyond its field's limit gets `NO` at once; a connection that closes or stalls before its request is
/// complete is closed without a reply (after ``Environment/requestTimeout``). Lives on its channel's event loop.
final class SaslauthdHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// What every connection of a server shares.
    struct Environment: Sendable {
        var authenticator: SaslauthdAuthenticator
        /// How long the peer may take to send its whole request.
        var requestTimeout: TimeAmount
        var limits: SaslauthdRequestParser.Limits
        var logger: Logger
    }

    private enum State {
        case reading
        case checking
        case closing
    }

    private let environment: Environment
    private let session: String
    private var parser: SaslauthdRequestParser
    private var state = State.reading
    private var timer: Scheduled<Void>?

    init(environment: Environment, session: String) {
        self.environment = environment
        self.session = session
        self.parser = SaslauthdRequestParser(limits: environment.limits)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: environment.requestTimeout) { [self] in
            guard state == .reading else { return }
            environment.logger.debug("saslauthd request timed out", metadata: ["saslauthd.session": "\(session)"])
            close(context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        parser.discard()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        parser.discard()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        guard state == .reading else { return }
        let outcome = parser.receive(buffer.readableBytesView)
        // The bytes may hold the password: wipe them in the storage the read shares with NIO's buffer.
        buffer.withVeryUnsafeBytes { bytes in
            guard let base = bytes.baseAddress else { return }
            UnsafeMutableRawPointer(mutating: base).initializeMemory(as: UInt8.self, repeating: 0, count: bytes.count)
        }
        switch outcome {
        case .needMoreBytes, .finished:
            return
        case .tooLong(let field):
            environment.logger.info(
                "saslauthd request refused",
                metadata: ["saslauthd.session": "\(session)", "reason": "\(field) too long"]
            )
            reply(.no("\(field) too long"), context: context)
        case .request(let request):
            check(request, context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            // A check in progress is finished and answered; a request still arriving is dropped.
            if state == .reading { close(context: context) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        environment.logger.debug(
            "saslauthd connection error",
            metadata: ["saslauthd.session": "\(session)", "error": "\(error)"]
        )
        close(context: context)
    }

    private func check(_ request: SaslauthdRequest, context: ChannelHandlerContext) {
        state = .checking
        timer?.cancel()
        let verdict = environment.authenticator.authenticate(request, on: context.eventLoop)
        verdict.assumeIsolated().whenSuccess { [self] verdict in
            request.password.overwriteSharedStorageWithZeros()
            log(request, verdict)
            reply(verdict.reply, context: context)
        }
    }

    private func log(_ request: SaslauthdRequest, _ verdict: SaslauthdVerdict) {
        // The fields cost more than the rest of a cached check: build them only when the line is written.
        guard environment.logger.logLevel <= .info else { return }
        var metadata: Logger.Metadata = [
            "saslauthd.session": "\(session)",
            "sasl.user": "\(String(decoding: request.login, as: UTF8.self))",
            "saslauthd.realm": "\(String(decoding: request.realm, as: UTF8.self))",
            "saslauthd.service": "\(String(decoding: request.service, as: UTF8.self))",
        ]
        if let address = request.clientAddress {
            metadata["client.address"] = "\(String(decoding: address, as: UTF8.self))"
        }
        switch verdict {
        case .accepted(let user):
            metadata["auth.result"] = "ok"
            metadata["sasl.identity"] = "\(user)"
        case .refused:
            metadata["auth.result"] = "failed"
        case .unavailable(let reason):
            metadata["auth.result"] = "temporary failure"
            metadata["reason"] = "\(reason)"
        }
        environment.logger.info("saslauthd authentication", metadata: metadata)
    }

    private func reply(_ reply: SaslauthdReply, context: ChannelHandlerContext) {
        guard state != .closing else { return }
        state = .closing
        let bytes = context.channel.allocator.buffer(bytes: reply.encoded)
        context.writeAndFlush(wrapOutboundOut(bytes)).assumeIsolated().whenComplete { [self] _ in
            close(context: context)
        }
    }

    private func close(context: ChannelHandlerContext) {
        state = .closing
        timer?.cancel()
        context.close(promise: nil)
    }
}
