import Logging
import NIOCore
import NIOPosix
import SASLMechanisms
import ServerKit

/// Drives one ``DovecotAuthConnection`` on one connection: sends the handshake, feeds it lines, runs mechanism steps
/// on a thread pool when they may wait (a store read, a key derivation) and on the event loop when they answer at
/// once (``SASLServerMechanism/stepIsImmediate(for:)``: a PLAIN password the store holds in memory), answers failures
/// after their delay, and sweeps orphaned requests. It stays on its channel's event loop and is deliberately not `Sendable`.
///
/// Failures are counted in the server-wide trackers by the request's `rip=` (the client of the MTA, not the MTA)
/// and by account, the same trackers the SMTP listener counts in when the daemon runs both, so a client failing
/// through Postfix and then through the submission port is counted once. A counted failure is answered after the
/// longer of ``Environment/failureDelay`` and the tracker's delay, capped at ``Environment/maximumFailureDelay``, well
/// under the 10 seconds Postfix waits for an answer before it drops the connection (a 454 for its client). The first
/// step of a request from an address with failures waits the tracker's delay too, with the same cap.
final class DovecotAuthHandler: ChannelInboundHandler {
    typealias InboundIn = [UInt8]
    typealias OutboundOut = ByteBuffer

    /// What the handler needs from its server.
    struct Environment {
        var logger: Logger
        /// Failures per client address (its network), or `nil`.
        var clientFailures: AuthFailureTracker?
        /// Failures per account, or `nil`.
        var accountFailures: AuthFailureTracker?
        /// Where steps that may block run; `nil` runs them on the event loop (tests).
        var threadPool: NIOThreadPool?
        /// The pause before every counted `FAIL`.
        var failureDelay: TimeAmount
        /// The cap of every delay.
        var maximumFailureDelay: TimeAmount
        /// How often orphaned requests are looked for.
        var sweepInterval: TimeAmount
    }

    private var connection: DovecotAuthConnection
    private let environment: Environment
    private var logger: Logger
    private var context: ChannelHandlerContext?
    private var sweep: Scheduled<Void>?
    /// Steps and delayed answers in flight; graceful shutdown waits for them.
    private var pendingWork = 0
    private var quiescing = false
    private var finished = false

    init(connection: DovecotAuthConnection, environment: Environment, connectionID: UInt32) {
        self.connection = connection
        self.environment = environment
        var logger = environment.logger
        logger[metadataKey: "auth.connection"] = "\(connectionID)"
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { started(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        started(context: context)
        context.fireChannelActive()
    }

    private func started(context: ChannelHandlerContext) {
        guard sweep == nil, !finished else { return }
        write(connection.start(), context: context)
        context.flush()
        scheduleSweep(context: context)
    }

    /// Looks for orphaned requests every ``Environment/sweepInterval`` while the connection lives.
    private func scheduleSweep(context: ChannelHandlerContext) {
        sweep = context.eventLoop.assumeIsolated().scheduleTask(in: environment.sweepInterval) { [self] in
            perform(connection.expireRequests(now: .now()))
            if let context = self.context, sweep != nil { scheduleSweep(context: context) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish()
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = unwrapInboundIn(data)
        perform(connection.receive(line, now: .now()))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let reason = error is DovecotLineDecoder.LineTooLong ? "a line longer than 16 KiB" : "\(error)"
        perform(connection.lineRefused(reason))
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            // The client reconnects to the next daemon; requests waiting for a client's response are dropped with the
            // connection (Postfix answers its client 454), steps in flight are answered first.
            quiescing = true
            closeIfIdle()
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func finish() {
        finished = true
        sweep?.cancel()
        sweep = nil
        connection.end()
    }

    // MARK: - Actions

    private func perform(_ actions: [DovecotAuthAction]) {
        guard let context else { return }
        for action in actions {
            switch action {
            case .send(let line):
                write(line, context: context)
            case .runStep(let request):
                runStep(request, context: context)
            case .fail(let failure):
                answer(failure, context: context)
            case .close:
                context.flush()
                context.close(promise: nil)
                return
            case .log(let level, let message, let metadata):
                logger.log(level: level, "\(message)", metadata: metadata)
            }
        }
        context.flush()
    }

    private func write(_ line: [UInt8], context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: line)), promise: nil)
    }

    /// The result of a step, carried back to the event loop.
    private struct StepOutcome: Sendable {
        var mechanism: any SASLServerMechanism
        var step: SASLStep
    }

    private func runStep(_ request: DovecotStepRequest, context: ChannelHandlerContext) {
        let delay = request.delayedAddress.map(startDelay(for:)) ?? .zero
        guard
            delay > .zero
                || !(environment.threadPool == nil || request.mechanism.stepIsImmediate(for: request.response))
        else {
            var mechanism = request.mechanism
            let step = mechanism.step(request.response)
            request.eraseResponse()
            perform(connection.stepCompleted(id: request.id, mechanism: mechanism, step: step, now: .now()))
            return
        }
        pendingWork += 1
        let loop = context.eventLoop
        let pool = environment.threadPool
        let work: @Sendable () -> StepOutcome = {
            var mechanism = request.mechanism
            let step = mechanism.step(request.response)
            request.eraseResponse()
            return StepOutcome(mechanism: mechanism, step: step)
        }
        let outcome: EventLoopFuture<StepOutcome> = loop.flatScheduleTask(in: delay) {
            pool.map { $0.runIfActive(eventLoop: loop, work) } ?? loop.makeSucceededFuture(work())
        }.futureResult
        outcome.assumeIsolated().whenComplete { [self] result in
            pendingWork -= 1
            let completed: StepOutcome
            switch result {
            case .success(let value):
                completed = value
            case .failure(let error):
                let reason = "the authentication worker is unavailable: \(error)"
                completed = StepOutcome(mechanism: request.mechanism, step: .failure(.temporary(reason: reason)))
            }
            perform(
                connection.stepCompleted(
                    id: request.id,
                    mechanism: completed.mechanism,
                    step: completed.step,
                    now: .now()
                )
            )
            closeIfIdle()
        }
    }

    /// The wait the address's earlier failures impose on a new request, capped.
    private func startDelay(for address: String) -> TimeAmount {
        guard let tracker = environment.clientFailures else { return .zero }
        return min(tracker.delay(for: tracker.policy.clientKey(for: address)), environment.maximumFailureDelay)
    }

    private func answer(_ failure: DovecotFailure, context: ChannelHandlerContext) {
        guard failure.counted else {
            write(failure.line, context: context)
            return
        }
        var delay = environment.failureDelay
        if let tracker = environment.clientFailures, let address = failure.remoteAddress {
            let key = tracker.policy.clientKey(for: address)
            delay = max(delay, tracker.recordFailure(from: key, fingerprint: failure.fingerprint))
        }
        if let tracker = environment.accountFailures, let account = failure.account {
            delay = max(delay, tracker.recordFailure(from: account, fingerprint: failure.fingerprint))
        }
        delay = min(delay, environment.maximumFailureDelay)
        pendingWork += 1
        context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
            pendingWork -= 1
            guard let context = self.context else { return }
            write(failure.line, context: context)
            context.flush()
            closeIfIdle()
        }
    }

    private func closeIfIdle() {
        guard quiescing, pendingWork == 0, let context else { return }
        context.close(promise: nil)
    }
}
