import Logging
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import SASLMechanisms
import ServerKit

/// Drives one ``SMTPSession`` on one connection: frames input into lines (and BDAT chunks), feeds them to the session
/// and performs the actions it returns, in order.
///
/// The handler stays on its channel's event loop and is deliberately not `Sendable`. What it adds to the pure session:
/// - **PIPELINING:** replies are gathered and flushed once the read that produced them is complete.
/// - **Back-pressure:** while a SASL step, a delivery or a pause is in progress, no line is given to the session, the
///   actions that follow wait, and the handler stops asking the socket for more bytes (it holds the `read` event; during
///   a step or a delivery, once input is buffered), so a client that keeps sending cannot grow memory. The same holds
///   while the socket cannot take our replies.
/// - **STARTTLS:** flushes the `220`, drops every byte the client sent behind `STARTTLS` (CVE-2011-0411), puts a
///   `NIOSSLServerHandler` in front of the pipeline and tells the session once the handshake is done.
/// - **Deadlines:** each line must arrive complete within the command timeout however it is trickled (slowloris), and
///   the TLS handshake within the same time; the deadline does not run while the server itself is busy.
/// - **Failed AUTH:** records each failure in the server-wide ``AuthFailureTracker`` and pauses for the longer of the
///   session's delay and the tracker's; a connection from an address with failures waits before its greeting.
/// - **Shutdown:** on `ChannelShouldQuiesceEvent` the session ends with `421` as soon as it is between transactions.
package final class SMTPSessionHandler: ChannelDuplexHandler {
    package typealias InboundIn = ByteBuffer
    package typealias InboundOut = Never
    package typealias OutboundIn = ByteBuffer
    package typealias OutboundOut = ByteBuffer

    /// What the handler needs from its server.
    package struct Environment {
        /// Where accepted messages go.
        package var sink: any MessageSink
        /// The logger; the handler adds `smtp.session` and `client.address`.
        package var logger: Logger
        /// The failures shared across connections, or `nil` for none.
        package var authFailures: AuthFailureTracker?
        /// Where SASL steps (store reads, PBKDF2) run; `nil` runs them on the event loop, which only tests
        /// driving an `EmbeddedChannel` should do. A step its mechanism calls immediate runs on the event loop.
        package var threadPool: NIOThreadPool?
        /// The TLS material for STARTTLS, or `nil` when there is none.
        package var tls: ServerTLSMaterial?
        /// Whether a `NIOSSLServerHandler` is already in front of this handler (port 465): the session starts once
        /// its handshake is done.
        package var implicitTLS: Bool
        /// The total time a client has for one line (and for the TLS handshake).
        package var commandTimeout: TimeAmount
        /// The message bytes all connections may hold; `nil` for no bound (tests of one connection).
        package var messageMemory: MessageMemoryBudget?
        /// Failed AUTH per account (`authid@realm`) across every address, or `nil`.
        package var accountFailures: AuthFailureTracker?

        /// Creates an environment.
        package init(
            sink: any MessageSink,
            logger: Logger,
            authFailures: AuthFailureTracker?,
            threadPool: NIOThreadPool?,
            tls: ServerTLSMaterial?,
            implicitTLS: Bool,
            commandTimeout: TimeAmount,
            messageMemory: MessageMemoryBudget? = nil,
            accountFailures: AuthFailureTracker? = nil
        ) {
            self.sink = sink
            self.logger = logger
            self.authFailures = authFailures
            self.threadPool = threadPool
            self.tls = tls
            self.implicitTLS = implicitTLS
            self.commandTimeout = commandTimeout
            self.messageMemory = messageMemory
            self.accountFailures = accountFailures
        }
    }

    /// What the handler waits for before it goes on with actions and input.
    private enum Wait: Equatable {
        /// Nothing: actions run, lines flow.
        case none
        /// The session has not started: the connection is not active yet, or the handshake of port 465 runs.
        case notStarted
        /// The greeting waits for the delay the client's address earned by failed AUTH on other connections.
        case startDelay
        /// A SASL step on the thread pool.
        case saslStep
        /// The sink.
        case delivery
        /// The handshake after STARTTLS.
        case tlsHandshake
        /// A pause asked by the session (after a failed AUTH); what follows it waits, replies included.
        case pause
        /// The connection is closing: nothing more is read or answered.
        case closing
    }

    private var session: SMTPSession
    private let environment: Environment
    private let logger: Logger
    private var decoder: SMTPLineDecoder
    private var input = ByteBuffer()
    private var output = ByteBuffer()
    /// Actions not yet performed because a wait began before them.
    private var queue: [SMTPSessionAction] = []
    private var wait = Wait.notStarted
    private var context: ChannelHandlerContext?
    private var started = false
    /// Whether ``runQueue()`` is on the stack.
    private var runningQueue = false
    /// A `read` held back while the handler is busy or the socket is full.
    private var readPending = false
    private var commandDeadline: Scheduled<Void>?
    /// When the line being read must be complete.
    private var lineStart = NIODeadline.uptimeNanoseconds(0)
    /// When the client must have authenticated (``SMTPLimits/timeBeforeLogin`` after connecting).
    private var loginDeadline = NIODeadline.distantFuture
    private var timer: Scheduled<Void>?
    /// The bytes this connection holds of ``Environment/messageMemory``.
    private var reservedMessageBytes = 0
    /// The delay the tracker asked for at the last recorded failure, applied with the session's next pause.
    private var trackerDelay = TimeAmount.zero
    /// Graceful shutdown was asked: end the session at the next quiet point.
    private var quiescing = false

    /// Creates a handler for a new connection.
    ///
    /// - Parameters:
    ///   - session: the session state machine, not yet started.
    ///   - environment: the sink, logger, tracker, thread pool, TLS material and deadline.
    package init(session: SMTPSession, environment: Environment) {
        self.session = session
        self.environment = environment
        var logger = environment.logger
        logger[metadataKey: "smtp.session"] = .string(session.sessionID)
        logger[metadataKey: "client.address"] = .string(session.clientAddress)
        self.logger = logger
        self.decoder = SMTPLineDecoder(maximumLineLength: session.maximumLineLength)
    }

    // MARK: - Channel events

    package func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { connectionStarted(context: context) }
    }

    package func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimers()
        releaseMessageMemory()
        wait = .closing
        self.context = nil
    }

    package func channelActive(context: ChannelHandlerContext) {
        connectionStarted(context: context)
        context.fireChannelActive()
    }

    package func channelInactive(context: ChannelHandlerContext) {
        cancelTimers()
        releaseMessageMemory()
        if wait != .closing { logger.debug("connection closed by the client") }
        wait = .closing
        queue = []
        context.fireChannelInactive()
    }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // While TLS starts nothing but protected data could arrive here, and none comes before the handshake ends;
        // once closing, input is ignored.
        guard wait != .closing, wait != .tlsHandshake else { return }
        var bytes = unwrapInboundIn(data)
        input.writeBuffer(&bytes)
        processInput()
    }

    package func channelReadComplete(context: ChannelHandlerContext) {
        flushOutput()
        context.fireChannelReadComplete()
    }

    package func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { releaseHeldRead() }
        context.fireChannelWritabilityChanged()
    }

    package func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted = tlsEvent {
            handshakeCompleted(context: context)
        } else if event is ChannelShouldQuiesceEvent {
            quiescing = true
            quiesceIfQuiet()
        }
        context.fireUserInboundEventTriggered(event)
    }

    package func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard wait != .closing else { return }
        // TLS failures, resets and the like end the connection; there is nobody left to answer.
        logger.info("connection error", metadata: ["error": "\(error)"])
        abort()
    }

    package func read(context: ChannelHandlerContext) {
        if mayRead(context: context) {
            context.read()
        } else {
            readPending = true
        }
    }

    /// Whether the socket may be read now: not while paused, closing or unable to send our replies. During a
    /// handshake the TLS handler in front needs the bytes.
    ///
    /// While a SASL step or a delivery runs, reading goes on as long as no input is buffered: a client that waits for
    /// the reply sends nothing meanwhile, and holding the read would take the socket out of the event loop's interest
    /// set and put it back (two `epoll_ctl` calls for every AUTH). What a client pipelines meanwhile stays bounded
    /// by one read, as when the read is held at once.
    private func mayRead(context: ChannelHandlerContext) -> Bool {
        switch wait {
        case .notStarted, .tlsHandshake:
            return true
        case .none:
            return context.channel.isWritable
        case .saslStep, .delivery:
            return context.channel.isWritable && input.readableBytes == 0
        case .startDelay, .pause, .closing:
            return false
        }
    }

    private func releaseHeldRead() {
        guard readPending, let context, mayRead(context: context) else { return }
        readPending = false
        context.read()
    }

    // MARK: - Start

    private func connectionStarted(context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        logger.debug("connection", metadata: ["smtp.tls": .string(environment.implicitTLS ? "implicit" : "none")])
        loginDeadline = context.eventLoop.now + .span(session.configuration.limits.timeBeforeLogin)
        armCommandDeadline()
        // On port 465 the session starts once the handshake is done (see handshakeCompleted).
        if !environment.implicitTLS { startSession(context: context) }
    }

    /// Starts the session, after the delay the client's address earned by failed AUTH on other connections.
    private func startSession(context: ChannelHandlerContext) {
        let delay =
            environment.authFailures.map { $0.delay(for: $0.policy.clientKey(for: session.clientAddress)) } ?? .zero
        guard delay > .zero else {
            wait = .none
            perform(session.start())
            resume()
            return
        }
        logger.info(
            "greeting delayed after failed AUTH",
            metadata: ["smtp.delay_ms": "\(delay.nanoseconds / 1_000_000)"]
        )
        wait = .startDelay
        cancelCommandDeadline()
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: delay) {
            self.timer = nil
            guard self.wait == .startDelay else { return }
            self.wait = .none
            self.perform(self.session.start())
            self.resume()
        }
    }

    // MARK: - Input

    /// Feeds buffered lines to the session until it waits for something or no complete line is left.
    private func processInput() {
        while wait == .none, queue.isEmpty {
            decoder.maximumLineLength = session.maximumLineLength
            decoder.octetsToRead = session.chunkOctetsExpected
            guard let event = decoder.decode(buffer: &input) else { break }
            // A line, and a whole BDAT chunk, must each arrive within the command timeout however they are trickled:
            // the deadline restarts with each line and once a chunk is complete, not with every piece of a chunk.
            switch event {
            case .line(let line):
                armCommandDeadline()
                perform(session.receiveLine(line))
            case .lineTooLong:
                armCommandDeadline()
                perform(session.lineTooLong())
            case .bareLineEnding:
                armCommandDeadline()
                perform(session.bareLineEnding())
            case .octets(let octets):
                perform(session.receiveChunkOctets(octets))
                if session.chunkOctetsExpected == 0 { armCommandDeadline() }
            }
            accountMessageMemory()
        }
        if input.readableBytes == 0 {
            // An idle connection holds no input buffer (the next read allocates one), nor an output buffer (see
            // flushOutput()): thousands of idle sessions each kept 1.5 KiB for nothing.
            input = ByteBuffer()
        } else if input.readerIndex > 4096 {
            input.discardReadBytes()
        }
        quiesceIfQuiet()
    }

    /// Goes on after a wait ended: the queued actions, then buffered lines, then replies and reading.
    private func resume() {
        guard wait == .none else { return }
        runQueue()
        guard wait == .none else { return }
        armCommandDeadline()
        processInput()
        flushOutput()
        releaseHeldRead()
    }

    // MARK: - Actions

    private func perform(_ actions: [SMTPSessionAction]) {
        queue += actions
        runQueue()
    }

    /// Performs queued actions until one begins a wait. Not re-entered: an action that completes at once (a SASL step
    /// run inline) only appends to the queue, and the loop already running goes on with it.
    private func runQueue() {
        guard !runningQueue else { return }
        runningQueue = true
        defer { runningQueue = false }
        while wait == .none, !queue.isEmpty {
            execute(queue.removeFirst())
        }
        if wait == .closing {
            queue = []
            return
        }
        if queue.isEmpty, wait == .none, trackerDelay > .zero {
            // The session asked for no pause of its own: the tracker's delay still applies.
            let delay = trackerDelay
            trackerDelay = .zero
            pause(for: delay)
        }
    }

    /// A wait ended with these actions: go on with them (and with input), unless the queue is already running.
    private func waitEnded(with actions: [SMTPSessionAction]) {
        queue += actions
        if !runningQueue { resume() }
    }

    private func execute(_ action: SMTPSessionAction) {
        switch action {
        case .send(let reply):
            output.writeBytes(reply.encoded)
        case .startTLS:
            startTLS()
        case .runSASLStep(let request):
            runSASLStep(request)
        case .deliver(let message):
            deliver(message)
        case .pause(let milliseconds):
            let delay = max(TimeAmount.milliseconds(Int64(milliseconds)), trackerDelay)
            trackerDelay = .zero
            pause(for: delay)
        case .recordAuthFailure(let user, let credential):
            recordAuthFailure(account: user, credential: credential)
        case .log(let event):
            log(event)
        case .close:
            close()
        }
    }

    private func log(_ event: SMTPLogEvent) {
        var metadata: Logger.Metadata = [:]
        for (key, value) in event.metadata { metadata[key] = .string(value) }
        let level: Logger.Level
        switch event.level {
        case .debug: level = .debug
        case .info: level = .info
        case .notice: level = .notice
        case .warning: level = .warning
        }
        logger.log(level: level, "\(event.message)", metadata: metadata)
    }

    private func flushOutput() {
        guard let context, output.readableBytes > 0, wait != .pause, wait != .closing else { return }
        context.writeAndFlush(wrapOutboundOut(output), promise: nil)
        output = ByteBuffer()
    }

    /// Sends what is queued and closes.
    private func close() {
        guard let context, wait != .closing else { return }
        wait = .closing
        queue = []
        cancelTimers()
        let channel = context.channel
        guard output.readableBytes > 0 else {
            channel.close(promise: nil)
            return
        }
        // Close once the last replies are written (closing at once would drop them with the pending writes).
        context.writeAndFlush(wrapOutboundOut(output)).assumeIsolated().whenComplete { _ in
            channel.close(promise: nil)
        }
        output = ByteBuffer()
        // A client that does not read its last reply is not waited for long.
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(10)) { channel.close(promise: nil) }
    }

    /// Closes at once, without a reply.
    private func abort() {
        wait = .closing
        queue = []
        cancelTimers()
        context?.close(promise: nil)
    }

    // MARK: - STARTTLS

    private func startTLS() {
        guard let context, let tls = environment.tls else {
            logger.warning("STARTTLS accepted by the session but the listener has no TLS material")
            abort()
            return
        }
        // The 220 goes out in the clear, before the TLS handler exists.
        flushOutput()
        let dropped = decoder.dropBufferedInput(&input)
        if dropped > 0 {
            logger.notice("input after STARTTLS dropped", metadata: ["smtp.dropped_bytes": "\(dropped)"])
        }
        wait = .tlsHandshake
        do {
            try context.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.context), position: .first)
        } catch {
            logger.info("TLS could not start", metadata: ["error": "\(error)"])
            abort()
        }
    }

    private func handshakeCompleted(context: ChannelHandlerContext) {
        acknowledgeNow(context: context)
        // The version is looked up only when the line is logged: finding the handler costs a walk of the pipeline.
        logger.debug(
            "tls handshake completed",
            metadata: {
                let handler = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self)
                return ["tls.version": "\(handler?.tlsVersion.map { "\($0)" } ?? "unknown")"]
            }()
        )
        if environment.implicitTLS, wait == .notStarted {
            startSession(context: context)
            return
        }
        guard wait == .tlsHandshake else { return }
        wait = .none
        perform(session.tlsEstablished(channelBindings: environment.tls?.channelBindings ?? []))
        resume()
    }

    /// Sends the ACK of the client's last handshake flight now instead of after the delayed-ACK timer.
    ///
    /// A TLS 1.3 client sends its Finished and, right behind it, its first command (EHLO after STARTTLS). With Nagle's
    /// algorithm on the client, that command waits until the Finished is acknowledged; the server has nothing to send
    /// (BoringSSL holds its session tickets until the next write), so the ACK would wait for the delayed-ACK timer:
    /// ≈ 40 ms per session, the stall measured on Postfix. `TCP_QUICKACK` flushes the pending ACK at once.
    private func acknowledgeNow(context: ChannelHandlerContext) {
        #if os(Linux)
        // TCP_QUICKACK from <netinet/tcp.h>.
        let quickAck = ChannelOptions.Types.SocketOption(level: .tcp, name: NIOBSDSocket.Option(rawValue: 12))
        try? context.channel.syncOptions?.setOption(quickAck, value: 1)
        #endif
    }

    // MARK: - Work off the event loop

    /// The result of a SASL step, carried back to the event loop.
    private struct StepOutcome: Sendable {
        var mechanism: any SASLServerMechanism
        var step: SASLStep
    }

    private func runSASLStep(_ request: SASLStepRequest) {
        guard let context else { return }
        guard let threadPool = environment.threadPool, !request.mechanism.stepIsImmediate(for: request.response)
        else {
            // Inline: the handler is not busy, so the client's line deadline keeps running, and the loop of
            // runQueue() goes on with the outcome's actions.
            var mechanism = request.mechanism
            let step = mechanism.step(request.response)
            request.eraseResponse()
            queue += session.saslStepCompleted(mechanism: mechanism, step: step)
            return
        }
        // A step that may read the store or hash a password goes to the pool: the event loop must not block. Steps
        // that cannot block skip the two thread switches: CRAM-MD5 at concurrency 32 went from 0.24 to 0.21 ms of
        // server CPU per session (8 interleaved runs of 3,000 sessions).
        wait = .saslStep
        cancelCommandDeadline()
        let work: @Sendable () -> StepOutcome = {
            var mechanism = request.mechanism
            let step = mechanism.step(request.response)
            request.eraseResponse()
            return StepOutcome(mechanism: mechanism, step: step)
        }
        let finished: EventLoopFuture<StepOutcome>
        if let source = session.configuration.saslContext.passwordSourceRunning(request.mechanism) {
            // A PAM check may wait for seconds: it runs on the source's own bounded threads, not on the pool the
            // store's lookups share; when they are all busy the step fails as temporary (454), it does not queue.
            let promise = context.eventLoop.makePromise(of: StepOutcome.self)
            promise.completeWithTask {
                do throws(SASLFailure) {
                    return try await source.run(work)
                } catch {
                    request.eraseResponse()
                    return StepOutcome(mechanism: request.mechanism, step: .failure(error))
                }
            }
            finished = promise.futureResult
        } else {
            finished = threadPool.runIfActive(eventLoop: context.eventLoop, work)
        }
        finished.assumeIsolated().whenComplete { result in
            guard self.wait == .saslStep else { return }
            self.wait = .none
            let outcome: StepOutcome
            switch result {
            case .success(let value):
                outcome = value
            case .failure(let error):
                let reason = "the authentication worker is unavailable: \(error)"
                outcome = StepOutcome(mechanism: request.mechanism, step: .failure(.temporary(reason: reason)))
            }
            self.waitEnded(with: self.session.saslStepCompleted(mechanism: outcome.mechanism, step: outcome.step))
        }
    }

    private func deliver(_ message: SubmittedMessage) {
        guard let context else { return }
        wait = .delivery
        cancelCommandDeadline()
        let sink = environment.sink
        let promise = context.eventLoop.makePromise(of: Result<Void, MessageSinkError>.self)
        promise.completeWithTask {
            do throws(MessageSinkError) {
                try await sink.deliver(message)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        promise.futureResult.assumeIsolated().whenComplete { result in
            guard self.wait == .delivery else { return }
            self.wait = .none
            let outcome: Result<Void, MessageSinkError>
            switch result {
            case .success(let value): outcome = value
            case .failure(let error): outcome = .failure(.temporary(reason: "the delivery task failed: \(error)"))
            }
            self.waitEnded(with: self.session.deliveryCompleted(outcome))
            self.accountMessageMemory()
        }
    }

    // MARK: - Failure tracking

    /// Counts a failed AUTH for the client's network and for the account it named, and keeps the longer of the delays
    /// they earn for the session's next pause. The account's count slows a guesser spread over many addresses; it
    /// delays failures only, never the owner's right password from an address without failures.
    private func recordAuthFailure(account: String?, credential: [UInt8]?) {
        var metadata: Logger.Metadata = [:]
        if let tracker = environment.authFailures {
            let client = tracker.policy.clientKey(for: session.clientAddress)
            trackerDelay = max(trackerDelay, tracker.recordFailure(from: client, fingerprint: credential))
            metadata["auth.failures_from_address"] = "\(tracker.failureCount(for: client))"
        }
        if let account, let accounts = environment.accountFailures {
            trackerDelay = max(trackerDelay, accounts.recordFailure(from: account, fingerprint: credential))
            metadata["auth.failures_for_account"] = "\(accounts.failureCount(for: account))"
        }
        if let account { metadata["sasl.user"] = .string(account) }
        logger.debug("auth failure recorded", metadata: metadata)
    }

    // MARK: - Message memory

    /// Grows this connection's share of the server's message memory with what its session holds (in 64 KiB steps) and
    /// gives it back once the message is gone; when the budget cannot grow, the message is refused (452 at its end)
    /// and its bytes freed. A message handed to the sink keeps its share until the sink is done with it.
    private func accountMessageMemory() {
        guard let budget = environment.messageMemory, wait != .delivery else { return }
        let held = session.heldMessageBytes
        if held > reservedMessageBytes {
            // Reserved in steps, so that a message costs one atomic update per step, not one per line.
            let step = Self.messageMemoryStep
            let wanted = (held / step + 1) * step
            guard budget.reserve(wanted - reservedMessageBytes) else {
                session.messageStorageExhausted()
                logger.notice(
                    "message memory spent",
                    metadata: ["memory.limit": "\(budget.limit)", "memory.in_use": "\(budget.inUse)"]
                )
                releaseMessageMemory()
                return
            }
            reservedMessageBytes = wanted
        } else if held == 0, reservedMessageBytes > 0 {
            releaseMessageMemory()
        }
    }

    /// The granularity of a connection's share of the message memory: 64 KiB.
    private static let messageMemoryStep = 64 * 1024

    private func releaseMessageMemory() {
        environment.messageMemory?.release(reservedMessageBytes)
        reservedMessageBytes = 0
    }

    // MARK: - Timers

    private func pause(for delay: TimeAmount) {
        guard let context, delay > .zero else { return }
        // Replies before the pause go out now; those after it wait.
        flushOutput()
        wait = .pause
        cancelCommandDeadline()
        timer?.cancel()
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: delay) {
            self.timer = nil
            guard self.wait == .pause else { return }
            self.wait = .none
            self.resume()
        }
    }

    /// Gives the client ``Environment/commandTimeout`` from now for its next complete line, and no more than is left
    /// of ``SMTPLimits/timeBeforeLogin`` until it has authenticated.
    ///
    /// Called for every line, so it only moves ``lineStart``; one scheduled task checks ``lineDeadline`` when it fires and
    /// reschedules itself if the deadline moved meanwhile (no timer churn during a large DATA transfer).
    private func armCommandDeadline() {
        guard let context else { return }
        lineStart = context.eventLoop.now
        guard commandDeadline == nil else { return }
        scheduleCommandDeadline(context: context)
    }

    /// When the line being read must be complete: read when the timer fires, since a login in between lifts the bound
    /// of ``SMTPLimits/timeBeforeLogin``.
    private var lineDeadline: NIODeadline {
        let deadline = lineStart + environment.commandTimeout
        return session.authenticatedUser == nil ? min(deadline, loginDeadline) : deadline
    }

    private func scheduleCommandDeadline(context: ChannelHandlerContext) {
        commandDeadline = context.eventLoop.assumeIsolated().scheduleTask(deadline: lineDeadline) {
            self.commandDeadline = nil
            guard let context = self.context else { return }
            if context.eventLoop.now < self.lineDeadline {
                self.scheduleCommandDeadline(context: context)
            } else {
                self.deadlinePassed()
            }
        }
    }

    private func cancelCommandDeadline() {
        commandDeadline?.cancel()
        commandDeadline = nil
    }

    private func cancelTimers() {
        cancelCommandDeadline()
        timer?.cancel()
        timer = nil
    }

    private func deadlinePassed() {
        switch wait {
        case .none:
            perform(session.timedOut())
            flushOutput()
            // The session closes on a timeout; if it ever did not, the connection still ends here.
            if wait != .closing { close() }
        case .notStarted, .tlsHandshake:
            logger.info("closing connection", metadata: ["smtp.reason": "TLS handshake timeout"])
            abort()
        case .startDelay, .saslStep, .delivery, .pause, .closing:
            break
        }
    }

    // MARK: - Shutdown

    /// Ends the session with `421` if shutdown was asked and the session is between transactions.
    private func quiesceIfQuiet() {
        guard quiescing else { return }
        switch wait {
        case .notStarted, .startDelay:
            logger.info("closing connection", metadata: ["smtp.reason": "shutdown"])
            abort()
        case .none:
            guard queue.isEmpty, session.isBetweenTransactions else { return }
            perform(session.shuttingDown())
            flushOutput()
        case .saslStep, .delivery, .tlsHandshake, .pause, .closing:
            break
        }
    }
}

extension SMTPSession {
    /// Whether ending the session now loses nothing: no transaction, no exchange, no message in progress.
    fileprivate var isBetweenTransactions: Bool {
        switch phase {
        case .notStarted, .connected, .greeted: return true
        case .inTransaction, .authenticating, .awaitingSASLStep, .inData, .inChunk, .awaitingDelivery, .awaitingTLS,
            .closed:
            return false
        }
    }
}
