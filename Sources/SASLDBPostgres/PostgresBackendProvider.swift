import SASLDB
import Synchronization

/// Makes PostgreSQL backends for `StoreFactory`: a program that links this target installs one at startup
/// (`StoreFactory.install(PostgresBackendProvider(mode: .pooled))`).
///
/// Every store of one location in the process shares one backend, so a daemon holds one bounded pool per database
/// however many stores (server, password change, reloads) it makes.
public final class PostgresBackendProvider: ExternalBackendProvider {
    /// How backends reach the server.
    public enum Mode: Sendable {
        /// A pool of at most `pool_size` connections, reopened after the server restarts: for a daemon.
        case pooled
        /// One connection opened on first use: for a command, which then hears of a refused login at once.
        case single
    }

    private let mode: Mode
    private let backends = Mutex<[PostgresLocation: any CredentialBackend]>([:])

    /// A provider whose backends connect as `mode` says.
    public init(mode: Mode) { self.mode = mode }

    public func makeBackend(_ location: PostgresLocation) -> any CredentialBackend {
        backends.withLock { backends in
            if let existing = backends[location] { return existing }
            let made = Self.backend(location, mode: mode)
            backends[location] = made
            return made
        }
    }

    /// Connects to `location` once and checks that its tables are at this program's version, within two query
    /// timeouts: what `sasl-smtpd --check-config` asks before a daemon relies on the store.
    ///
    /// - Throws: the ``SASLDBError`` a lookup would meet: the server unreachable, the login refused, the database or
    ///   the tables missing, the tables of another version, the password file or TLS settings unusable.
    public static func check(_ location: PostgresLocation) throws {
        do {
            try postgresBackend(location, mode: .single).checkSchema()
        } catch {
            throw SASLDBError(postgres: error, store: location.displayName, user: location.user)
        }
    }

    private static func backend(_ location: PostgresLocation, mode: Mode) -> any CredentialBackend {
        do {
            return try postgresBackend(location, mode: mode)
        } catch {
            return UnsupportedBackend(
                error: SASLDBError(postgres: error, store: location.displayName, user: location.user)
            )
        }
    }

    private static func postgresBackend(_ location: PostgresLocation, mode: Mode) throws -> PostgresBackend {
        let settings = try PostgresConnectionSettings(location)
        let source: any PostgresConnectionSource
        switch mode {
        case .pooled: source = PooledConnections(settings.clientConfiguration, probe: try settings.probeConfiguration())
        case .single: source = SingleConnection(try settings.connectionConfiguration())
        }
        return PostgresBackend(location: location, source: source)
    }
}
