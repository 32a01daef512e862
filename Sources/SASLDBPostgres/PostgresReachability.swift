import PostgresNIO
import Synchronization

/// What a pool knows of whether its server can be reached, so a lookup while the server is down fails in
/// milliseconds instead of waiting out the query timeout in the pool's queue.
///
/// Nothing is assumed from slowness alone: a lookup that has waited ``stallMilliseconds`` asks for a probe, a fresh
/// connection of its own; only a probe that cannot connect at all (refused, no socket, no answer to connect, the
/// server shutting down or starting up) marks the server down. While down, every lookup fails at once, and a watcher
/// probes every ``watchIntervalMilliseconds`` until a connection succeeds, then counts a recovery, on which the pool
/// starts afresh (its own reconnect back-off grows with the outage, up to a minute).
final class PostgresReachability: Sendable {
    /// How long a lookup waits before a probe is made: far longer than a lease from a healthy pool takes.
    static let stallMilliseconds = 250
    /// How often a server that is down is probed.
    static let watchIntervalMilliseconds = 500
    /// How long a probe's verdict stands for other stalled lookups.
    static let verdictMilliseconds = 1000

    private struct State {
        /// Why the server is down; `nil` while it is thought reachable.
        var down: String?
        var lastProbe: ContinuousClock.Instant?
        var lastVerdict: String?
        var probing: Task<String?, Never>?
        var watcher: Task<Void, Never>?
    }

    private let configuration: PostgresConnection.Configuration
    private let state = Mutex(State())
    private let recoveryCount = Atomic<Int>(0)

    /// Watches the server `configuration` reaches (its connect timeout bounds a probe).
    init(probing configuration: PostgresConnection.Configuration) {
        self.configuration = configuration
    }

    deinit {
        state.withLock { $0.watcher?.cancel() }
    }

    /// Why the server is known to be unreachable now, or `nil`.
    var unreachable: String? { state.withLock { $0.down } }

    /// How many times the server came back after being marked down.
    var recoveries: Int { recoveryCount.load(ordering: .acquiring) }

    /// Probes the server (one probe at a time; a verdict under ``verdictMilliseconds`` old is reused): why it cannot
    /// be reached, or `nil` when it can. An unreachable server is marked down and watched.
    func check() async -> String? {
        let now = ContinuousClock.now
        let probe: Task<String?, Never>? = state.withLock { state in
            if let running = state.probing { return running }
            if let last = state.lastProbe, now - last < .milliseconds(Self.verdictMilliseconds) { return nil }
            let started = Task { await self.probe() }
            state.probing = started
            return started
        }
        guard let probe else { return state.withLock { $0.lastVerdict } }
        let verdict = await probe.value
        state.withLock { state in
            guard state.probing == probe else { return }
            state.probing = nil
            state.lastProbe = .now
            state.lastVerdict = verdict
            guard let verdict, state.down == nil else { return }
            state.down = verdict
            state.watcher = Self.watcher(of: self)
        }
        return verdict
    }

    /// Probes every ``watchIntervalMilliseconds`` until the server answers; holds the reachability only while probing,
    /// so a pool that goes away stops its watcher.
    private static func watcher(of reachability: PostgresReachability) -> Task<Void, Never> {
        Task { [weak reachability] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(watchIntervalMilliseconds))
                guard let reachability, !Task.isCancelled else { return }
                if await reachability.probeWhileDown() { return }
            }
        }
    }

    /// One probe of a server marked down: whether it answered, which clears the mark and counts a recovery.
    private func probeWhileDown() async -> Bool {
        let reason = await probe()
        state.withLock { state in
            state.down = reason
            guard reason == nil else { return }
            recoveryCount.add(1, ordering: .releasing)
            state.lastProbe = nil
            state.watcher = nil
        }
        return reason == nil
    }

    /// One connection attempt: why it failed for want of a server, or `nil` (connected, or refused for another reason,
    /// which the lookup itself reports).
    private func probe() async -> String? {
        do {
            let connection = try await PostgresConnection.connect(
                configuration: configuration,
                id: 0,
                logger: PostgresBackend.silent
            )
            try? await connection.close()
            return nil
        } catch let error as PSQLError {
            return Self.unreachableReason(error)
        } catch {
            return nil
        }
    }

    /// The reason `error` means no server answers, or `nil` when one answered.
    static func unreachableReason(_ error: PSQLError) -> String? {
        switch error.code {
        case .connectionError, .serverClosedConnection, .uncleanShutdown:
            return "the server cannot be reached: " + (error.underlying.map { "\($0)" } ?? "\(error.code)")
        case .server:
            // Class 57 (shutting down, starting up) and 08 (connection failures): no server to talk to yet.
            let state = error.serverInfo?[.sqlState] ?? ""
            guard ["57", "08"].contains(String(state.prefix(2))) else { return nil }
            return "the server is not accepting connections: " + (error.serverInfo?[.message] ?? state)
        default:
            return nil
        }
    }
}
