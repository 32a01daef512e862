import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PasswordChange
import ServerKit
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The poppassd password-change service: TCP listeners (loopback in the clear, anywhere with implicit TLS) and a
/// Unix-domain socket for local users, all speaking the dialogue of ``PoppassdSession`` and changing passwords
/// through a ``PasswordChanger`` in-process or through a privileged writer process (``PasswordChanging``).
///
/// Run it in the same `ServiceGroup` as the SMTP server (`SMTPServer`): graceful shutdown stops accepting, lets a change in
/// progress finish and be answered, ends idle dialogues with a `500`, and closes what is left after
/// ``PoppassdServerConfiguration/drainTimeout``. The changer writes the store the SMTP server reads per lookup, so the
/// next AUTH sees a new password without a restart.
///
/// On the Unix-domain socket the peer's uid (`SO_PEERCRED`) decides: root may change any user's password, any other
/// uid only its own account's (`name` or `name@<default realm>`, `name` being the uid's account). The current
/// password is required either way.
public final class PoppassdServer: Service, Sendable {
    private struct State {
        var tls: NIOSSLContext?
    }

    /// The configuration; fixed for the server's life.
    public let configuration: PoppassdServerConfiguration
    private let gate: PasswordChangeGate
    private let logger: Logger
    private let group: any EventLoopGroup
    private let registry = ConnectionRegistry()
    private let lifecycle = ListenerLifecycle()
    private let state: Mutex<State>
    /// The thread in-process changes run on when the caller named no pool; started by ``run()``, which ends it.
    private let changeThread: NIOThreadPool?

    /// Creates a server and loads its TLS material; nothing is bound until ``run()``.
    ///
    /// - Parameters:
    ///   - configuration: sockets, TLS, timeouts, limits.
    ///   - changer: the changer; its audit records go wherever its `audit` sends them.
    ///   - writer: what makes the changes instead of `changer` (a ``PasswordWriterClient`` to a root process that
    ///     can write the database); `changer` then only maps logins for the local socket's rule and audits the
    ///     refusals decided here. `nil`: `changer` makes them, on `threadPool`.
    ///   - logger: where the server logs connections and errors.
    ///   - eventLoopGroup: the loops serving connections; the process-wide singleton by default.
    ///   - threadPool: where in-process changes run (they hash and write the store, which blocks); by default a
    ///     thread of the server's own, so a flood of changes never takes the threads SMTP logins run on.
    ///   - accountName: the account name of a uid, for the local socket; the password database by default.
    /// - Throws: ``PasswordServiceError/plaintextNotLoopback(_:)`` for a listener without TLS off loopback,
    ///   ``PasswordServiceError/tls(_:)`` when TLS is needed and missing or unusable.
    public init(
        configuration: PoppassdServerConfiguration,
        changer: PasswordChanger,
        writer: (any PasswordChanging)? = nil,
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        threadPool: NIOThreadPool? = nil,
        accountName: @escaping @Sendable (UInt32) -> String? = PoppassdServer.accountName(ofUID:)
    ) throws(PasswordServiceError) {
        for listener in configuration.listeners where !listener.implicitTLS && !listener.isLoopback {
            throw .plaintextNotLoopback("\(listener.host):\(listener.port)")
        }
        var context: NIOSSLContext?
        if let tls = configuration.tls {
            context = try Self.loadTLS(tls)
        } else if configuration.listeners.contains(where: \.implicitTLS) {
            throw .tls("a TLS listener needs a certificate and key")
        }
        self.configuration = configuration
        let changeThread = threadPool == nil && writer == nil ? NIOThreadPool(numberOfThreads: 1) : nil
        self.changeThread = changeThread
        self.gate = PasswordChangeGate(
            changer: changer,
            writer: writer,
            failurePolicy: configuration.failurePolicy,
            // With a writer and no pool the gate runs nothing on one: the writer client has its own thread.
            threadPool: threadPool ?? changeThread ?? .singleton,
            accountName: accountName
        )
        self.logger = logger
        self.group = eventLoopGroup
        self.state = Mutex(State(tls: context))
    }

    // MARK: - Service

    /// Binds every socket and serves until graceful shutdown or cancellation.
    ///
    /// - Throws: ``PasswordServiceError/bindFailed(_:)`` or ``PasswordServiceError/localSocket(_:)`` when a socket
    ///   cannot be bound (the others are closed again), ``PasswordServiceError/alreadyStarted`` when called twice.
    public func run() async throws {
        let channels = try await lifecycle.bind(alreadyStarted: PasswordServiceError.alreadyStarted) {
            try await bindAll()
        }
        changeThread?.start()
        let addresses = channels.compactMap(\.localAddress)
        lifecycle.publish(channels, addresses: addresses)
        for address in addresses { logger.info("poppassd listening", metadata: ["listen.address": "\(address)"]) }

        await lifecycle.serveUntilShutdown()
        if let path = configuration.localSocketPath { LocalSocketFile.remove(path) }
        await registry.drain(
            graceful: !Task.isCancelled,
            timeout: configuration.drainTimeout,
            on: group.next(),
            logger: logger
        )
        try? await changeThread?.shutdownGracefully()
        lifecycle.finish(error: PasswordServiceError.notListening)
        logger.info("poppassd stopped")
    }

    /// The bound address of each socket (TCP listeners in configuration order, then the local socket) once ``run()``
    /// has bound them; it waits until then.
    ///
    /// - Throws: ``PasswordServiceError/notListening`` when the server stopped or failed to bind.
    public func listeningAddresses() async throws -> [SocketAddress] {
        try await lifecycle.addresses(stopped: PasswordServiceError.notListening)
    }

    // MARK: - Reload

    /// Uses `changer` (a new policy, database path or realm) for changes from now on; the failure counts are kept.
    /// With a writer, only the login mapping and the audit of refusals decided here change: the writer keeps what it
    /// was started with.
    public func updateChanger(_ changer: PasswordChanger) {
        gate.replaceChanger(changer)
    }

    /// Reloads the certificate and key for new connections.
    ///
    /// - Throws: ``PasswordServiceError/tls(_:)``; the previous material then stays in use.
    public func reloadTLS(_ configuration: ServerTLSConfiguration) throws(PasswordServiceError) {
        let context = try Self.loadTLS(configuration)
        state.withLock { $0.tls = context }
    }

    /// The account name of `uid` in the password database, `nil` when it has none.
    public static func accountName(ofUID uid: UInt32) -> String? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, result != nil, let name = entry.pw_name
        else { return nil }
        return String(cString: name)
    }

    // MARK: - Listening

    private static func loadTLS(_ configuration: ServerTLSConfiguration) throws(PasswordServiceError) -> NIOSSLContext {
        do {
            return try ServerTLSMaterial(configuration).context
        } catch {
            throw .tls("\(error)")
        }
    }

    private func bindAll() async throws -> [any Channel] {
        try await ListenerLifecycle.bindAllOrNone { channels in
            for listener in configuration.listeners {
                let bootstrap = serverBootstrap { channel in
                    let address = channel.remoteAddress?.ipAddress ?? "unknown"
                    return channel.eventLoop.makeCompletedFuture {
                        try self.initialize(channel, client: .network(address: address), tls: listener.implicitTLS)
                    }
                }
                .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
                do {
                    channels.append(try await bootstrap.bind(host: listener.host, port: listener.port).get())
                } catch {
                    throw PasswordServiceError.bindFailed("\(listener.host):\(listener.port): \(error)")
                }
            }
            if let path = configuration.localSocketPath {
                channels.append(try await bindLocalSocket(path))
            }
        }
    }

    private func bindLocalSocket(_ path: String) async throws -> any Channel {
        do {
            try LocalSocketFile.removeStale(path)
        } catch {
            throw PasswordServiceError.localSocket(error.detail)
        }
        let bootstrap = serverBootstrap { channel in
            PeerCredentials.of(channel).flatMapThrowing { credentials in
                try self.initialize(channel, client: .local(uid: credentials.uid), tls: false)
            }
        }
        do {
            // The umask is changed for the whole process while the socket is bound: safe here because the daemon binds
            // its listeners at start-up, before the SMTP server accepts anyone (it waits for these addresses), so no
            // message, Maildir file or other file of this process is being created meanwhile; the password writer and
            // the TLS reader are processes of their own, with their own umask.
            return try await LocalSocketFile.bindingOpenToEveryone {
                try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: false).get()
            }
        } catch {
            throw PasswordServiceError.bindFailed("\(path): \(error)")
        }
    }

    private func serverBootstrap(
        _ initializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>
    ) -> ServerBootstrap {
        ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: false)
            // Clients send passwords readable on the wire: wipe every buffer they were read into.
            .childChannelOption(.allocator, value: .wipingReleasedMemory)
            .childChannelInitializer(initializer)
    }

    /// Sets up one accepted connection, on its event loop; one over the limits is closed at once.
    private func initialize(_ channel: any Channel, client: PoppassdClient, tls: Bool) throws {
        let refusal = registry.admit(
            channel,
            address: client.connectionKey,
            maximumConnections: configuration.maximumConnections,
            maximumPerAddress: configuration.maximumConnectionsPerClient
        )
        if let refusal {
            logger.info(
                "poppassd connection refused",
                metadata: ["client": .string(client.origin), "reason": .string("\(refusal)")]
            )
            channel.close(promise: nil)
            return
        }
        let pipeline = channel.pipeline.syncOperations
        if tls, let context = state.withLock({ $0.tls }) {
            try pipeline.addHandler(NIOSSLServerHandler(context: context))
        }
        try pipeline.addHandler(
            ByteToMessageHandler(PoppassdLineDecoder(maximumLineLength: PoppassdSession.maximumLineLength))
        )
        let environment = PoppassdHandler.Environment(
            gate: gate,
            lineTimeout: configuration.lineTimeout,
            sessionTimeout: configuration.sessionTimeout,
            logger: logger
        )
        try pipeline.addHandler(
            PoppassdHandler(environment: environment, client: client, limits: configuration.sessionLimits)
        )
    }
}
