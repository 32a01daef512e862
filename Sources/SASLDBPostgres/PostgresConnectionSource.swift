import PostgresNIO
import Synchronization

/// Where a ``PostgresBackend`` gets a connection for one operation.
protocol PostgresConnectionSource: Sendable {
    /// Runs `body` on a connection that no other operation uses meanwhile.
    func withConnection<Value: Sendable>(
        _ body: @Sendable (PostgresConnection) async throws -> Value
    ) async throws
        -> Value

    /// Why the server is known to be unreachable now, so an operation fails at once; `nil` to try.
    var unreachable: String? { get }

    /// What to do when an operation has waited long: a check that gives a reason to give up now.
    var stall: BlockingBridge.Stall? { get }
}

/// A bounded pool, for a daemon: connections are reused across lookups, opened again after the server restarts.
///
/// While the server is down (``PostgresReachability``) lookups fail at once; when it is back, the pool starts afresh,
/// so its reconnect back-off, grown over a long outage, does not delay the first logins.
final class PooledConnections: PostgresConnectionSource {
    private struct Running {
        var client: PostgresClient
        var runner: Task<Void, Never>
        /// The reachability's recoveries when this pool started.
        var recoveries: Int
    }

    private let configuration: PostgresClient.Configuration
    private let reachability: PostgresReachability
    private let running: Mutex<Running>

    /// Starts the pool (it opens connections on demand); `probe` is the configuration a reachability probe connects
    /// with.
    init(_ configuration: PostgresClient.Configuration, probe: PostgresConnection.Configuration) {
        self.configuration = configuration
        let reachability = PostgresReachability(probing: probe)
        self.reachability = reachability
        stall = BlockingBridge.Stall(afterMilliseconds: PostgresReachability.stallMilliseconds) {
            await reachability.check()
        }
        running = Mutex(Self.start(configuration, recoveries: 0))
    }

    deinit { running.withLock { $0.runner.cancel() } }

    var unreachable: String? { reachability.unreachable }

    let stall: BlockingBridge.Stall?

    func withConnection<Value: Sendable>(
        _ body: @Sendable (PostgresConnection) async throws -> Value
    ) async throws
        -> Value
    {
        let recoveries = reachability.recoveries
        let client = running.withLock { running in
            if running.recoveries != recoveries {
                // The server came back: a new pool connects at once; the old one closes and fails what waits in it.
                running.runner.cancel()
                running = Self.start(configuration, recoveries: recoveries)
            }
            return running.client
        }
        return try await client.withConnection { try await body($0) }
    }

    private static func start(_ configuration: PostgresClient.Configuration, recoveries: Int) -> Running {
        let client = PostgresClient(configuration: configuration)
        return Running(client: client, runner: Task { await client.run() }, recoveries: recoveries)
    }
}

/// One connection opened on first use, for a short-lived command: it reports a refused login or an unreachable server
/// at once, where a pool would keep retrying until the query timeout.
actor SingleConnection: PostgresConnectionSource {
    private let configuration: PostgresConnection.Configuration
    private var connection: PostgresConnection?

    /// A source that connects with `configuration` when first asked.
    init(_ configuration: PostgresConnection.Configuration) {
        self.configuration = configuration
    }

    deinit {
        // The connection must be closed before it goes: the closing future holds it until then.
        guard let connection else { return }
        connection.close().whenComplete { _ in _ = connection }
    }

    nonisolated var unreachable: String? { nil }

    nonisolated var stall: BlockingBridge.Stall? { nil }

    func withConnection<Value: Sendable>(
        _ body: @Sendable (PostgresConnection) async throws -> Value
    ) async throws
        -> Value
    {
        if let connection, !connection.isClosed { return try await body(connection) }
        let opened = try await PostgresConnection.connect(
            configuration: configuration,
            id: 1,
            logger: PostgresBackend.silent
        )
        connection = opened
        return try await body(opened)
    }
}
