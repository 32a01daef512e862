import NIOCore
import NIOPosix

/// Runs sessions against one server: `total` of them, at most `concurrency` at once, until a deadline.
///
/// Created, used and ended on its one event loop (every session's channel is on that loop too), so its counters need
/// no lock. Reports through promises, which are `Sendable`: `ready` when every session is held open or has failed
/// (hold workloads), `finished` when every session has ended.
final class LoadDriver {
    private let loop: any EventLoop
    private let script: SessionScript
    private let address: SocketAddress
    private let total: Int
    private let concurrency: Int
    private let timeout: TimeAmount
    private let ready: EventLoopPromise<LoadSummary>
    private let finished: EventLoopPromise<LoadSummary>
    private var summary = LoadSummary()
    private var closed = 0
    private var settled = 0
    private var releasing = false
    private var readyReported = false
    private var finishedReported = false
    private var sessions: [ObjectIdentifier: SessionHandler] = [:]
    private var deadlineTask: Scheduled<Void>?
    /// Whether the deadline passed (sessions still open then count as failed).
    private(set) var expired = false

    init(
        loop: any EventLoop,
        script: SessionScript,
        address: SocketAddress,
        total: Int,
        concurrency: Int,
        timeout: TimeAmount,
        ready: EventLoopPromise<LoadSummary>,
        finished: EventLoopPromise<LoadSummary>,
        release: EventLoopFuture<Void>
    ) {
        self.loop = loop
        self.script = script
        self.address = address
        self.total = total
        self.concurrency = concurrency
        self.timeout = timeout
        self.ready = ready
        self.finished = finished
        release.assumeIsolated().whenSuccess { self.releaseHeld() }
    }

    /// Starts the first sessions and the deadline.
    func start() {
        armDeadline()
        launchMore()
        check()
    }

    // MARK: - Reports from sessions

    func sessionOpened(_ session: SessionHandler) {
        sessions[ObjectIdentifier(session)] = session
    }

    func sessionSucceeded(started: NIODeadline) {
        summary.succeeded += 1
        if !script.workload.holds {
            summary.latencies.append((NIODeadline.now() - started).nanoseconds)
        }
    }

    func sessionHeld(started: NIODeadline) {
        summary.held += 1
        summary.latencies.append((NIODeadline.now() - started).nanoseconds)
        settled += 1
        launchMore()
        check()
    }

    func sessionFailed(_ reason: String, wasHeld: Bool) {
        summary.addFailure(reason)
        if wasHeld {
            summary.held -= 1
        } else if script.workload.holds && !releasing {
            settled += 1
            launchMore()
        }
        check()
    }

    func sessionClosed(_ session: SessionHandler) {
        sessions[ObjectIdentifier(session)] = nil
        closed += 1
        if !script.workload.holds { launchMore() }
        check()
    }

    // MARK: - Running

    private var inFlight: Int {
        summary.launched - (script.workload.holds ? settled : closed)
    }

    private func launchMore() {
        while summary.launched < total && !expired && inFlight < concurrency {
            launch()
        }
    }

    private func launch() {
        summary.launched += 1
        let started = NIODeadline.now()
        let script = self.script
        let driver = NIOLoopBound(self, eventLoop: loop)
        ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = SessionHandler(script: script, driver: driver.value, started: started)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .connect(to: address)
            .assumeIsolated()
            .whenFailure { error in
                self.summary.addFailure("connect: \(error)")
                if self.script.workload.holds { self.settled += 1 }
                self.closed += 1
                self.launchMore()
                self.check()
            }
    }

    private func releaseHeld() {
        releasing = true
        armDeadline()
        for session in sessions.values { session.release() }
        check()
    }

    private func armDeadline() {
        deadlineTask?.cancel()
        deadlineTask = loop.assumeIsolated().scheduleTask(in: timeout) { self.expire() }
    }

    private func expire() {
        expired = true
        summary.expired = true
        for session in sessions.values { session.abort() }
        check()
    }

    private func check() {
        let launchedAll = summary.launched == total || expired
        if script.workload.holds && !readyReported && launchedAll && settled == summary.launched {
            readyReported = true
            deadlineTask?.cancel()
            ready.succeed(summary)
        }
        if !finishedReported && launchedAll && closed == summary.launched
            && (releasing || !script.workload.holds || summary.held == 0)
        {
            finishedReported = true
            deadlineTask?.cancel()
            if !readyReported {
                readyReported = true
                ready.succeed(summary)
            }
            finished.succeed(summary)
        }
    }
}
