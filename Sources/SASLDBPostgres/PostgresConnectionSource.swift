import PostgresNIO

/// Where a ``PostgresBackend`` gets a connection for one operation.
protocol PostgresConnectionSource: Sendable {
    /// Runs `body` on a connection that no other operation uses meanwhile.
    func withConnection<Value: Sendable>(
        _ body: @Sendable (PostgresConnection) async throws -> Value
    ) async throws
        -> Value
}

/// A bounded pool, for a daemon: connections are reused across lookups, opened again after the server restarts.
final class PooledConnections: PostgresConnectionSource {
    private let client: PostgresClient
    private let runner: Task<Void, Never>

    /// Starts the pool; it opens connections on demand.
    init(_ configuration: PostgresClient.Configuration) {
        let client = PostgresClient(configuration: configuration)
        self.client = client
        runner = Task { await client.run() }
    }

    deinit { runner.cancel() }

    func withConnection<Value: Sendable>(
        _ body: @Sendable (PostgresConnection) async throws -> Value
    ) async throws
        -> Value
    {
        try await client.withConnection { try await body($0) }
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
