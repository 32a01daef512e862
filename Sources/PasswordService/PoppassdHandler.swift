import Logging
import NIOCore
import PasswordChange
import ServerKit

/// Runs one poppassd dialogue: feeds lines to the ``PoppassdSession`` and carries out its effects (replies, pauses,
/// the change through the ``PasswordChangeGate``, closing), with a timeout per line and one for the whole dialogue.
///
/// While a pause or a change is in progress, lines that arrive are held (a few at most) and given to the session
/// afterwards, in order. Lives on its channel's event loop.
final class PoppassdHandler: ChannelInboundHandler {
    typealias InboundIn = PoppassdLineEvent
    typealias OutboundOut = ByteBuffer

    /// What every connection of a server shares.
    struct Environment {
        var gate: PasswordChangeGate
        var lineTimeout: TimeAmount
        var sessionTimeout: TimeAmount
        var logger: Logger
    }

    /// Lines held while busy; a client pipelining more than this is not speaking poppassd.
    private static let maximumHeldLines = 8

    private let environment: Environment
    private let client: PoppassdClient
    private var session: PoppassdSession
    private var held: [PoppassdLineEvent] = []
    /// A pause or a change is in progress: lines are held.
    private var busy = false
    private var started = false
    private var closing = false
    private var quiescing = false
    private var lineTimer: Scheduled<Void>?
    private var sessionTimer: Scheduled<Void>?

    init(environment: Environment, client: PoppassdClient, limits: PoppassdSession.Limits) {
        self.environment = environment
        self.client = client
        self.session = PoppassdSession(limits: limits)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { begin(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        begin(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        lineTimer?.cancel()
        sessionTimer?.cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let event = unwrapInboundIn(data)
        guard !closing else { return }
        if busy {
            guard held.count < Self.maximumHeldLines else {
                close(context: context)
                return
            }
            held.append(event)
            return
        }
        handle(event, context: context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            quiescing = true
            // A change in progress finishes and is answered first (see resume(context:)).
            if !session.isChanging { perform(session.interrupt(with: .shuttingDown), context: context) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        environment.logger.debug(
            "poppassd connection error",
            metadata: ["client": .string(client.origin), "error": .string("\(error)")]
        )
        close(context: context)
    }

    // MARK: - Dialogue

    private func begin(context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        sessionTimer = context.eventLoop.assumeIsolated().scheduleTask(in: environment.sessionTimeout) {
            [self] in timedOut(context: context)
        }
        armLineTimer(context: context)
        perform(session.start(), context: context)
    }

    private func handle(_ event: PoppassdLineEvent, context: ChannelHandlerContext) {
        armLineTimer(context: context)
        switch event {
        case .line(let line):
            perform(session.receive(line: line), context: context)
            // `pass` and `newpass` lines hold passwords: wipe the line the decoder made once the session has read it.
            line.overwriteSharedStorageWithZeros()
        case .lineTooLong: perform(session.receiveOverlongLine(), context: context)
        }
    }

    /// Carries out `effects` in order; a pause or a change suspends the rest until it is over.
    private func perform(_ effects: [PoppassdEffect], context: ChannelHandlerContext) {
        var remaining = effects[...]
        while let effect = remaining.popFirst() {
            switch effect {
            case .reply(let reply):
                context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: reply.encoded)), promise: nil)
            case .pause(let duration):
                context.flush()
                busy = true
                let rest = Array(remaining)
                context.eventLoop.assumeIsolated().scheduleTask(in: .span(duration)) { [self] in
                    busy = false
                    perform(rest, context: context)
                    resume(context: context)
                }
                return
            case .checkAndChange(let request):
                context.flush()
                busy = true
                lineTimer?.cancel()
                let gate = environment.gate
                let client = self.client
                let loop = context.eventLoop
                let outcome = loop.makeFutureWithTask { await gate.change(request, from: client) }
                outcome.assumeIsolated().whenComplete { [self] result in
                    busy = false
                    let error: PasswordChangeError?
                    switch result {
                    case .success(let outcome): error = outcome
                    case .failure: error = .unavailable(reason: "the change was interrupted")
                    }
                    perform(session.changeFinished(error), context: context)
                    resume(context: context)
                }
                return
            case .close:
                close(context: context)
                return
            }
        }
        context.flush()
    }

    /// After a pause or a change: the held lines, then a shutdown that waited for the change.
    private func resume(context: ChannelHandlerContext) {
        guard !busy, !closing else { return }
        armLineTimer(context: context)
        while !busy, !closing, !held.isEmpty {
            handle(held.removeFirst(), context: context)
        }
        if quiescing, !busy, !closing { perform(session.interrupt(with: .shuttingDown), context: context) }
    }

    private func armLineTimer(context: ChannelHandlerContext) {
        lineTimer?.cancel()
        lineTimer = context.eventLoop.assumeIsolated().scheduleTask(in: environment.lineTimeout) { [self] in
            timedOut(context: context)
        }
    }

    /// The client was too slow. A change or a pause in progress is not interrupted: it ends with a reply anyway.
    private func timedOut(context: ChannelHandlerContext) {
        guard !closing, !busy else { return }
        environment.logger.info("poppassd timeout", metadata: ["client": .string(client.origin)])
        perform(session.interrupt(with: .timeout), context: context)
        if !closing { close(context: context) }
    }

    private func close(context: ChannelHandlerContext) {
        guard !closing else { return }
        closing = true
        lineTimer?.cancel()
        sessionTimer?.cancel()
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0))).assumeIsolated()
            .whenComplete { _ in context.close(promise: nil) }
    }
}
