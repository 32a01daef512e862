import Logging
import NIOCore
import NIOPosix
import SASLDB
import ServerKit
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The server side of Dovecot's authentication protocol on a Unix-domain socket (and optionally loopback TCP): the
/// socket Postfix's `smtpd_sasl_type = dovecot`, Exim's `dovecot` authenticator and `doveadm auth test` talk to, so
/// an MTA the site already runs authenticates its clients against our store, with our mechanisms and our failure
/// throttling.
///
/// Run it in the same `ServiceGroup` as the SMTP server, given that server's failure trackers: graceful shutdown
/// stops accepting, lets steps in flight be answered, then closes the connections (Postfix reconnects to the next
/// daemon, its clients in the middle of an exchange get 454). Each lookup reads the store afresh, so a changed
/// password works at the next request without a restart.
public final class DovecotAuthServer: Service, Sendable {
    private struct State {
        var connection: DovecotAuthConnection.Configuration
    }

    /// The configuration the server started with (the connection settings may change, see ``update(_:)``).
    public let configuration: DovecotAuthServerConfiguration
    private let logger: Logger
    private let group: any EventLoopGroup
    private let clientFailures: AuthFailureTracker?
    private let accountFailures: AuthFailureTracker?
    private let registry = ConnectionRegistry()
    private let lifecycle = ListenerLifecycle()
    private let state: Mutex<State>
    private let nextConnectionID = Atomic<UInt32>(1)
    private let threadPool: NIOThreadPool

    /// Creates a server; nothing is bound until ``run()``.
    ///
    /// - Parameters:
    ///   - configuration: the sockets, mechanisms and delays.
    ///   - clientFailures: failures per client address, shared with the SMTP server (`SMTPServer.authFailures`) so
    ///     that both count one client once; `nil` for a tracker of this server's own.
    ///   - accountFailures: failures per account, shared the same way; `nil` for one of its own.
    ///   - logger: where the server logs.
    ///   - eventLoopGroup: the loops serving connections; the process-wide singleton by default.
    /// - Throws: ``DovecotAuthError/notLoopback(_:)`` for a TCP listener off loopback.
    public init(
        configuration: DovecotAuthServerConfiguration,
        clientFailures: AuthFailureTracker? = nil,
        accountFailures: AuthFailureTracker? = nil,
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) throws(DovecotAuthError) {
        for listener in configuration.tcpListeners where !isLoopbackHost(listener.host) {
            throw .notLoopback("\(listener.host):\(listener.port)")
        }
        self.configuration = configuration
        self.clientFailures = clientFailures ?? AuthFailureTracker()
        self.accountFailures = accountFailures ?? AuthFailureTracker()
        self.logger = logger
        self.group = eventLoopGroup
        self.state = Mutex(State(connection: configuration.connection))
        // Steps read the store and may run PBKDF2: threads of their own, so they never hold an event loop.
        self.threadPool = NIOThreadPool(numberOfThreads: 2)
    }

    // MARK: - Service

    /// Binds every socket and serves until graceful shutdown or cancellation.
    ///
    /// - Throws: ``DovecotAuthError`` when a socket cannot be bound (the others are closed again) or when called
    ///   twice.
    public func run() async throws {
        let channels = try await lifecycle.bind(alreadyStarted: DovecotAuthError.alreadyStarted) { try await bindAll() }
        threadPool.start()
        let addresses = channels.compactMap(\.localAddress)
        lifecycle.publish(channels, addresses: addresses)
        for address in addresses {
            logger.info("dovecot auth listening", metadata: ["listen.address": "\(address)"])
        }
        await lifecycle.serveUntilShutdown()
        if let socket = configuration.localSocket { LocalSocketFile.remove(socket.path) }
        await registry.drain(
            graceful: !Task.isCancelled,
            timeout: configuration.drainTimeout,
            on: group.next(),
            logger: logger
        )
        try? await threadPool.shutdownGracefully()
        lifecycle.finish(error: DovecotAuthError.notListening)
        logger.info("dovecot auth stopped")
    }

    /// The bound address of each socket (TCP listeners in configuration order, then the local socket) once ``run()``
    /// has bound them; it waits until then.
    ///
    /// - Throws: ``DovecotAuthError/notListening`` when the server stopped or failed to bind.
    public func listeningAddresses() async throws -> [SocketAddress] {
        try await lifecycle.addresses(stopped: DovecotAuthError.notListening)
    }

    /// Uses `connection` (a new store, realm or mechanism list) for connections opened from now on; open ones keep
    /// theirs, as SMTP sessions do.
    public func update(_ connection: DovecotAuthConnection.Configuration) {
        state.withLock { $0.connection = connection }
    }

    // MARK: - Listening

    private func bindAll() async throws -> [any Channel] {
        try await ListenerLifecycle.bindAllOrNone { channels in
            for listener in configuration.tcpListeners {
                do {
                    channels.append(try await bootstrap().bind(host: listener.host, port: listener.port).get())
                } catch {
                    throw DovecotAuthError.bindFailed("\(listener.host):\(listener.port): \(error)")
                }
            }
            if let socket = configuration.localSocket {
                channels.append(try await bindLocalSocket(socket))
            }
        }
    }

    /// Binds the socket born with its mode (the umask set for the bind, no `chmod` race), then gives it its owner and
    /// group without following a link (`fchownat` with `AT_SYMLINK_NOFOLLOW`): the daemon binds as root in a
    /// directory another account may write (Postfix's `private/`).
    private func bindLocalSocket(_ socket: DovecotAuthServerConfiguration.LocalSocket) async throws -> any Channel {
        do {
            try LocalSocketFile.removeStale(socket.path)
        } catch {
            throw DovecotAuthError.bindFailed("\(socket.path): \(error.detail)")
        }
        let channel: any Channel
        // The umask belongs to the process: the daemon binds its listeners at start-up, before any connection is
        // accepted and before anything else creates files (as the password socket does).
        let previous = umask(mode_t(~socket.mode & 0o777))
        do {
            defer { umask(previous) }
            channel = try await bootstrap().bind(unixDomainSocketPath: socket.path, cleanupExistingSocketFile: false)
                .get()
        } catch {
            throw DovecotAuthError.bindFailed("\(socket.path): \(error)")
        }
        if socket.owner != nil || socket.group != nil {
            let owner = socket.owner.map { uid_t($0) } ?? uid_t.max
            let group = socket.group.map { gid_t($0) } ?? gid_t.max
            guard fchownat(AT_FDCWD, socket.path, owner, group, AT_SYMLINK_NOFOLLOW) == 0 else {
                let reason = String(cString: strerror(errno))
                try? await channel.close()
                throw DovecotAuthError.socketPermissions("\(socket.path): \(reason)")
            }
        }
        return channel
    }

    private func bootstrap() -> ServerBootstrap {
        ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: false)
            // Clients send passwords readable on the wire: wipe every buffer they were read into.
            .childChannelOption(.allocator, value: .wipingReleasedMemory)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try self.initialize(channel) }
            }
    }

    /// Sets up one accepted connection, on its event loop; one over the limit is closed at once.
    private func initialize(_ channel: any Channel) throws {
        // Every connection comes from the MTA (or its local helpers): the limit is on the total, not per address.
        let refusal = registry.admit(
            channel,
            address: "mta",
            maximumConnections: configuration.maximumConnections,
            maximumPerAddress: configuration.maximumConnections
        )
        if let refusal {
            logger.notice("dovecot auth connection refused", metadata: ["reason": .string("\(refusal)")])
            channel.close(promise: nil)
            return
        }
        let connectionID = nextConnectionID.add(1, ordering: .relaxed).oldValue
        let connection = DovecotAuthConnection(
            configuration: state.withLock { $0.connection },
            serverProcessID: Int(getpid()),
            connectionID: connectionID,
            cookie: secureRandomBytes(count: 16)
        )
        let environment = DovecotAuthHandler.Environment(
            logger: logger,
            clientFailures: clientFailures,
            accountFailures: accountFailures,
            threadPool: threadPool,
            failureDelay: configuration.failureDelay,
            maximumFailureDelay: configuration.maximumFailureDelay,
            sweepInterval: min(.seconds(5), configuration.connection.requestTimeout)
        )
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(ByteToMessageHandler(DovecotLineDecoder()))
        try pipeline.addHandler(
            DovecotAuthHandler(connection: connection, environment: environment, connectionID: connectionID)
        )
    }
}
