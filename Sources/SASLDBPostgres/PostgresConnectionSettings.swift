import NIOSSL
import PostgresNIO
import SASLDB

/// A ``PostgresLocation`` made ready to connect: the password read from its file, the TLS context built.
struct PostgresConnectionSettings: Sendable {
    /// The location, for messages and the timeouts.
    let location: PostgresLocation
    /// The role's password, from ``PostgresLocation/passwordFile``.
    let password: String?
    /// The TLS configuration of a TCP connection; `nil` for none.
    let tls: TLSConfiguration?

    /// Reads the password file and prepares TLS.
    ///
    /// - Throws: ``SASLDBError`` for a password file that cannot be read.
    init(_ location: PostgresLocation) throws {
        self.location = location
        if let path = location.passwordFile {
            let bytes = try InputFile.read(path)
            let line = bytes.prefix { $0 != UInt8(ascii: "\n") && $0 != UInt8(ascii: "\r") }
            password = String(decoding: line, as: UTF8.self)
        } else {
            password = nil
        }
        guard location.host != nil, location.tls != .disable else {
            tls = nil
            return
        }
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch location.tls {
        case .disable, .require: configuration.certificateVerification = .none
        case .verifyCA: configuration.certificateVerification = .noHostnameVerification
        case .verifyFull: configuration.certificateVerification = .fullVerification
        }
        if let caFile = location.caFile { configuration.trustRoots = .file(caFile) }
        tls = configuration
    }

    /// The name messages give the store.
    var storeName: String { location.displayName }

    /// The pooled client's configuration: at most ``PostgresLocation/poolSize`` connections, each connection attempt
    /// bounded by the query timeout.
    var clientConfiguration: PostgresClient.Configuration {
        var configuration: PostgresClient.Configuration
        if let host = location.host {
            configuration = PostgresClient.Configuration(
                host: host,
                port: location.port,
                username: location.user,
                password: password,
                database: location.database,
                tls: tls.map { PostgresClient.Configuration.TLS.require($0) } ?? .disable
            )
        } else {
            configuration = PostgresClient.Configuration(
                unixSocketPath: socketPath,
                username: location.user,
                password: password,
                database: location.database
            )
        }
        configuration.options.maximumConnections = location.poolSize
        configuration.options.connectTimeout = .milliseconds(location.queryTimeoutMilliseconds)
        return configuration
    }

    /// One connection's configuration, for a short-lived program that needs no pool.
    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        var configuration: PostgresConnection.Configuration
        if let host = location.host {
            configuration = PostgresConnection.Configuration(
                host: host,
                port: location.port,
                username: location.user,
                password: password,
                database: location.database,
                tls: try tls.map { PostgresConnection.Configuration.TLS.require(try NIOSSLContext(configuration: $0)) }
                    ?? .disable
            )
        } else {
            configuration = PostgresConnection.Configuration(
                unixSocketPath: socketPath,
                username: location.user,
                password: password,
                database: location.database
            )
        }
        configuration.options.connectTimeout = .milliseconds(Int64(location.queryTimeoutMilliseconds))
        return configuration
    }

    /// The configuration of a reachability probe: one connection, given at most 2 s (or the query timeout) to open.
    func probeConfiguration() throws -> PostgresConnection.Configuration {
        var configuration = try connectionConfiguration()
        configuration.options.connectTimeout = .milliseconds(Int64(min(location.queryTimeoutMilliseconds, 2000)))
        return configuration
    }

    /// The server's socket in the directory, named as libpq names it.
    private var socketPath: String { location.socketDirectory + "/.s.PGSQL.\(location.port)" }
}
