import Logging
import NIOCore
import NIOPosix
import ServerKit
import ServiceLifecycle

/// A saslauthd replacement: Unix-domain sockets speaking saslauthd's protocol, so that Postfix with Cyrus SASL
/// (`pwcheck_method: saslauthd`), Cyrus IMAP, OpenLDAP's `{SASL}` pass-through and `testsaslauthd` check passwords
/// against our store, with our throttling.
///
/// Each connection carries one request and gets one reply (`SaslauthdHandler`); the password is checked by a
/// ``SaslauthdAuthenticator``. Run it in the same `ServiceGroup` as the other services: graceful shutdown stops
/// accepting, answers the checks in progress and closes the rest after
/// ``SaslauthdServerConfiguration/drainTimeout``. The store is read per request, so a password changed by
/// `sasldb passwd` counts from the next request on.
public final class SaslauthdServer: Service, Sendable {
    /// The configuration; fixed for the server's life.
    public let configuration: SaslauthdServerConfiguration
    /// The checks; ``SaslauthdAuthenticator/updateContext(_:)`` changes the store or realm on reload.
    public let authenticator: SaslauthdAuthenticator
    private let logger: Logger
    private let group: any EventLoopGroup
    private let registry = ConnectionRegistry()
    private let lifecycle = ListenerLifecycle()

    /// Creates a server; nothing is bound until ``run()``.
    ///
    /// - Parameters:
    ///   - configuration: the sockets and bounds.
    ///   - authenticator: the store, the realm rules and the failure counts.
    ///   - logger: where the server logs requests and errors.
    ///   - eventLoopGroup: the loops serving connections; the process-wide singleton by default.
    /// - Throws: ``SaslauthdServerError/noSocket`` when the configuration names no socket.
    public init(
        configuration: SaslauthdServerConfiguration,
        authenticator: SaslauthdAuthenticator,
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) throws(SaslauthdServerError) {
        guard !configuration.socketPaths.isEmpty else { throw .noSocket }
        self.configuration = configuration
        self.authenticator = authenticator
        self.logger = logger
        self.group = eventLoopGroup
    }

    // MARK: - Service

    /// Binds every socket and serves until graceful shutdown or cancellation.
    ///
    /// - Throws: ``SaslauthdServerError/bindFailed(_:)`` or ``SaslauthdServerError/socketPath(_:)`` when a socket
    ///   cannot be bound (the others are closed again), ``SaslauthdServerError/alreadyStarted`` when called twice.
    public func run() async throws {
        let channels = try await lifecycle.bind(alreadyStarted: SaslauthdServerError.alreadyStarted) {
            try await bindAll()
        }
        let addresses = channels.compactMap(\.localAddress)
        lifecycle.publish(channels, addresses: addresses)
        for path in configuration.socketPaths {
            logger.info("saslauthd listening", metadata: ["listen.address": "\(path)"])
        }

        await lifecycle.serveUntilShutdown()
        for path in configuration.socketPaths { LocalSocketFile.remove(path) }
        await registry.drain(
            graceful: !Task.isCancelled,
            timeout: configuration.drainTimeout,
            on: group.next(),
            logger: logger
        )
        lifecycle.finish(error: SaslauthdServerError.notListening)
        logger.info("saslauthd stopped")
    }

    /// The bound address of each socket, in configuration order, once ``run()`` has bound them; it waits until then.
    ///
    /// - Throws: ``SaslauthdServerError/notListening`` when the server stopped or failed to bind.
    public func listeningAddresses() async throws -> [SocketAddress] {
        try await lifecycle.addresses(stopped: SaslauthdServerError.notListening)
    }

    // MARK: - Listening

    private func bindAll() async throws -> [any Channel] {
        try await ListenerLifecycle.bindAllOrNone { channels in
            for path in configuration.socketPaths {
                channels.append(try await bind(path))
            }
        }
    }

    private func bind(_ path: String) async throws -> any Channel {
        do {
            try LocalSocketFile.removeStale(path)
        } catch {
            throw SaslauthdServerError.socketPath(error.detail)
        }
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.allowRemoteHalfClosure, value: false)
            // Clients send passwords readable on the wire: wipe every buffer they were read into.
            .childChannelOption(.allocator, value: .wipingReleasedMemory)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try self.initialize(channel, path: path) }
            }
        do {
            // The process umask changes while binding: safe because the daemon binds every listener at start-up,
            // before any connection is accepted (see LocalSocketFile).
            return try await LocalSocketFile.bindingOpenToEveryone {
                try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: false).get()
            }
        } catch {
            throw SaslauthdServerError.bindFailed("\(path): \(error)")
        }
    }

    /// Sets up one accepted connection, on its event loop; one over the limit is closed at once.
    private func initialize(_ channel: any Channel, path: String) throws {
        let refusal = registry.admit(
            channel,
            address: path,
            maximumConnections: configuration.maximumConnections,
            maximumPerAddress: configuration.maximumConnections
        )
        if let refusal {
            logger.info(
                "saslauthd connection refused",
                metadata: ["listen.address": "\(path)", "reason": "\(refusal)"]
            )
            channel.close(promise: nil)
            return
        }
        let environment = SaslauthdHandler.Environment(
            authenticator: authenticator,
            requestTimeout: configuration.requestTimeout,
            limits: configuration.limits,
            logger: logger
        )
        try channel.pipeline.syncOperations.addHandler(
            SaslauthdHandler(environment: environment, session: registry.nextSessionID())
        )
    }
}
