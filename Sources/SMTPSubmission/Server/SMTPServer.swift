import Logging
import NIOCore
import NIOPosix
import NIOSSL
import SASLMechanisms
import ServerKit
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// An embeddable SMTP submission server (RFC 6409): listeners, TLS, limits, SASL AUTH against a credential store, and
/// accepted messages handed to a ``MessageSink``.
///
/// Embedding takes a configuration, a session configuration (host name, credentials, mechanisms, limits), a sink and a
/// logger; run it in a `ServiceGroup`, which stops it gracefully on SIGTERM. `ServerTLSConfiguration` comes from
/// ServerKit, which every service of the package builds on (`import ServerKit`); `Examples/EmbeddedSubmission` is a
/// complete program, walked through in <doc:EmbeddingTheServer>:
///
/// ```swift
/// let server = try SMTPServer(
///     configuration: SMTPServerConfiguration(
///         listeners: [
///             .init(host: "0.0.0.0", port: 587, kind: .submission),
///             .init(host: "0.0.0.0", port: 465, kind: .implicitTLS),
///         ],
///         tls: ServerTLSConfiguration(
///             certificateChainPath: "/etc/ssl/mail.example.org/fullchain.pem",
///             privateKeyPath: "/etc/ssl/mail.example.org/privkey.pem"
///         )
///     ),
///     sessionConfiguration: sessionConfiguration,
///     sink: MaildirSink(...),
///     logger: logger
/// )
/// let group = ServiceGroup(services: [server], gracefulShutdownSignals: [.sigterm], logger: logger)
/// try await group.run()
/// ```
///
/// ``run()`` binds every listener, calls the initializer's `beforeAccepting` hook (where a daemon drops root), only
/// then accepts connections, serves until graceful shutdown, then stops accepting, asks each session to end
/// (`421` once it is between commands; a message being delivered is finished first) and closes what is left after
/// ``SMTPServerConfiguration/drainTimeout``. Cancelling the task that runs it closes every connection at once.
///
/// ``reloadTLS(_:)`` and ``updateSessionConfiguration(_:)`` take effect for new connections; sessions in progress keep
/// what they started with.
public final class SMTPServer: Service, Sendable {
    private struct State {
        var tls: ServerTLSMaterial?
        var sessionConfiguration: SMTPSessionConfiguration
    }

    /// The server's configuration (listeners, limits); fixed for the server's life.
    public let configuration: SMTPServerConfiguration
    /// The failed-AUTH counts per client address, shared by every connection of this server.
    public let authFailures: AuthFailureTracker

    private let sink: any MessageSink
    private let logger: Logger
    private let group: any EventLoopGroup
    private let threadPool: NIOThreadPool
    /// The message bytes every connection together may hold.
    private let messageMemory: MessageMemoryBudget
    /// Failed AUTH per account, across addresses.
    public let accountFailures: AuthFailureTracker
    private let registry = ConnectionRegistry()
    private let lifecycle = ListenerLifecycle()
    private let beforeAccepting: (@Sendable ([SocketAddress]) async throws -> Void)?
    private let state: Mutex<State>

    /// Creates a server and loads its TLS material; nothing is bound until ``run()``.
    ///
    /// - Parameters:
    ///   - configuration: listeners, TLS, connection limits, drain timeout.
    ///   - sessionConfiguration: what every session uses: host name, credential lookup, mechanisms, limits.
    ///   - sink: where accepted messages go.
    ///   - logger: where the server logs (the library never sets up logging itself).
    ///   - eventLoopGroup: the loops serving connections; the process-wide singleton by default.
    ///   - threadPool: where SASL steps (store reads, PBKDF2) run; the process-wide singleton by default.
    ///   - beforeAccepting: called by ``run()`` with the bound addresses once every listener is bound, before the
    ///     first connection is accepted (clients that connect meanwhile wait in the listen backlog): the place to drop
    ///     root privileges, so that no connection is ever served with them. When it throws, the listeners are closed
    ///     and ``run()`` throws its error.
    ///   - authFailures: the failed-AUTH counts per client address, given to share them with another service that
    ///     authenticates the same clients (the Dovecot auth socket); `nil` for counts of this server's own.
    ///   - accountFailures: the failed-AUTH counts per account, shared the same way; `nil` for this server's own.
    /// - Throws: ``SMTPServerError/tlsRequired`` when a TLS listener has no TLS configuration,
    ///   ``SMTPServerError/tlsUnreadable`` when the certificate or key cannot be used.
    public init(
        configuration: SMTPServerConfiguration,
        sessionConfiguration: SMTPSessionConfiguration,
        sink: any MessageSink,
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        threadPool: NIOThreadPool = .singleton,
        beforeAccepting: (@Sendable (_ addresses: [SocketAddress]) async throws -> Void)? = nil,
        authFailures: AuthFailureTracker? = nil,
        accountFailures: AuthFailureTracker? = nil
    ) throws(SMTPServerError) {
        let needsTLS = configuration.listeners.contains { $0.kind != .plain }
        var material: ServerTLSMaterial?
        if let tls = configuration.tls {
            material = try Self.loadTLS(tls)
        } else if needsTLS {
            throw .tlsRequired("listeners \(configuration.listeners.map { "\($0.host):\($0.port)" }) need TLS")
        }
        self.configuration = configuration
        self.authFailures = authFailures ?? AuthFailureTracker(policy: configuration.authFailurePolicy)
        self.messageMemory = MessageMemoryBudget(limit: configuration.messageMemoryLimit)
        self.accountFailures = accountFailures ?? AuthFailureTracker(policy: configuration.authFailurePolicy)
        self.sink = sink
        self.logger = logger
        self.group = eventLoopGroup
        self.threadPool = threadPool
        self.beforeAccepting = beforeAccepting
        self.state = Mutex(State(tls: material, sessionConfiguration: sessionConfiguration))
    }

    // MARK: - Service

    /// Binds every listener, runs the `beforeAccepting` hook, then accepts and serves until graceful shutdown or
    /// cancellation.
    ///
    /// - Throws: ``SMTPServerError/bindFailed`` when a listener cannot bind (the others are closed again),
    ///   ``SMTPServerError/alreadyStarted`` when called twice, or the error of the `beforeAccepting` hook.
    public func run() async throws {
        guard lifecycle.start() else { throw SMTPServerError.alreadyStarted }
        let channels: [any Channel]
        let addresses: [SocketAddress]
        do {
            (channels, addresses) = try await bindListeners()
            try await startAccepting(channels, addresses: addresses)
        } catch {
            lifecycle.finish(error: error)
            throw error
        }
        lifecycle.publish(channels, addresses: addresses)
        for address in addresses { logger.info("listening", metadata: ["listen.address": "\(address)"]) }

        await lifecycle.serveUntilShutdown()
        await registry.drain(
            graceful: !Task.isCancelled,
            timeout: configuration.drainTimeout,
            on: group.next(),
            logger: logger
        )
        lifecycle.finish(error: SMTPServerError.notListening("the server has stopped"))
        logger.info("stopped")
    }

    /// The bound address of each listener, in configuration order, once ``run()`` has bound them (it waits until
    /// then). With port `0` in the configuration, this is how to learn the port the system chose.
    ///
    /// - Throws: ``SMTPServerError/notListening`` when the server stopped or failed to bind.
    public func listeningAddresses() async throws -> [SocketAddress] {
        try await lifecycle.addresses(stopped: SMTPServerError.notListening("the server has stopped"))
    }

    /// The number of connections open now.
    public var connectionCount: Int { registry.count }

    // MARK: - Reload

    /// Reloads the certificate chain and key (from `configuration`, or from the server's configuration when `nil`):
    /// new connections use the new context, sessions in progress keep theirs.
    ///
    /// - Throws: ``SMTPServerError/tlsUnreadable``; the previous material then stays in use.
    public func reloadTLS(_ configuration: ServerTLSConfiguration? = nil) throws(SMTPServerError) {
        guard let tlsConfiguration = configuration ?? self.configuration.tls else {
            throw .tlsRequired("there is no TLS configuration to reload")
        }
        let material = try Self.loadTLS(tlsConfiguration)
        state.withLock { $0.tls = material }
        logger.info("tls reloaded")
    }

    private static func loadTLS(_ configuration: ServerTLSConfiguration) throws(SMTPServerError) -> ServerTLSMaterial {
        do {
            return try ServerTLSMaterial(configuration)
        } catch {
            throw .tlsUnreadable(error.detail)
        }
    }

    /// Replaces the session configuration (credentials, mechanisms, limits) for new connections.
    public func updateSessionConfiguration(_ sessionConfiguration: SMTPSessionConfiguration) {
        state.withLock { $0.sessionConfiguration = sessionConfiguration }
    }

    // MARK: - Listening

    /// Binds every listener without accepting (a listening socket only accepts once its `autoRead` is turned on);
    /// returns every listening channel, and the bound address of each listener in configuration order.
    private func bindListeners() async throws -> (channels: [any Channel], addresses: [SocketAddress]) {
        var addresses: [SocketAddress] = []
        let channels = try await ListenerLifecycle.bindAllOrNone { channels in
            for listener in configuration.listeners {
                let first = channels.count
                do {
                    try await bind(listener, into: &channels)
                } catch {
                    throw SMTPServerError.bindFailed("\(listener.host):\(listener.port): \(error)")
                }
                if channels.count > first, let address = channels[first].localAddress { addresses.append(address) }
            }
        }
        return (channels, addresses)
    }

    /// Binds the listening sockets of `listener`, appending each to `channels`.
    ///
    /// On Linux, one socket per event loop, all on one port with SO_REUSEPORT, each accepting connections onto its own
    /// loop: the kernel spreads connections over them, and no connection is handed from the loop that accepted it to
    /// another thread (three eventfd wake-ups for each such connection, and the context switches they cost). The port
    /// is claimed first by a socket without SO_REUSEPORT (``ExclusivePort``), so a port another server listens on
    /// still fails the start rather than being shared. Elsewhere SO_REUSEPORT does not spread connections: one socket
    /// accepts for every loop.
    private func bind(_ listener: SMTPServerConfiguration.Listener, into channels: inout [any Channel]) async throws {
        #if os(Linux)
        let port = try ExclusivePort.claim(
            try SocketAddress.makeAddressResolvingHost(listener.host, port: listener.port)
        )
        for loop in group.makeIterator() {
            let bootstrap = makeBootstrap(listener, group: loop)
                .serverChannelOption(Self.reusePort, value: 1)
            channels.append(try await bootstrap.bind(host: listener.host, port: port).get())
        }
        #else
        channels.append(
            try await makeBootstrap(listener, group: group).bind(host: listener.host, port: listener.port).get()
        )
        #endif
    }

    #if os(Linux)
    /// SO_REUSEPORT, which NIO names no option for.
    private static let reusePort = ChannelOptions.Types.SocketOption(
        level: .socket,
        name: NIOBSDSocket.Option(rawValue: SO_REUSEPORT)
    )
    #endif

    /// A bootstrap of `listener` accepting on `group` and serving each connection on the loop that accepted it.
    ///
    /// Accepted sockets inherit TCP_NODELAY (which NIO sets on the listening socket) and SO_KEEPALIVE from the
    /// listening socket, so both are set once there rather than with two `setsockopt` calls per connection. The
    /// listening socket accepts one connection per readiness event: reading on until `accept` fails with EAGAIN cost
    /// a failed system call for nearly every connection, and a listener that still has connections waiting is
    /// reported ready again by the next `epoll_wait`.
    private func makeBootstrap(
        _ listener: SMTPServerConfiguration.Listener,
        group: any EventLoopGroup
    ) -> ServerBootstrap {
        ServerBootstrap(group: group)
            .serverChannelOption(.autoRead, value: false)
            .serverChannelOption(.backlog, value: configuration.backlog)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.socketOption(.so_keepalive), value: 1)
            .serverChannelOption(.maxMessagesPerRead, value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: false)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try self.initializeConnection(channel, listener: listener)
                }
            }
    }

    /// Runs the `beforeAccepting` hook, then lets every listener accept; closes them all when either fails.
    private func startAccepting(_ channels: [any Channel], addresses: [SocketAddress]) async throws {
        do {
            try await beforeAccepting?(addresses)
            for channel in channels { try await channel.setOption(.autoRead, value: true).get() }
        } catch {
            await ListenerLifecycle.closeAll(channels)
            throw error
        }
    }

    /// Sets up one accepted connection, on its event loop.
    private func initializeConnection(_ channel: any Channel, listener: SMTPServerConfiguration.Listener) throws {
        let kind = listener.kind
        let address = channel.remoteAddress?.ipAddress ?? "unknown"
        let (tls, sessionConfiguration) = state.withLock { ($0.tls, $0.sessionConfiguration) }
        let pipeline = channel.pipeline.syncOperations
        let refusal = registry.admit(
            channel,
            address: address,
            maximumConnections: configuration.maximumConnections,
            maximumPerAddress: configuration.maximumConnectionsPerAddress
        )
        if kind == .implicitTLS, let tls {
            try pipeline.addHandler(NIOSSLServerHandler(context: tls.context))
        }
        if let refusal {
            var metadata: Logger.Metadata = ["client.address": .string(address)]
            switch refusal {
            case .tooManyConnections: metadata["reason"] = "too many connections"
            case .tooManyFromAddress: metadata["reason"] = "too many connections from this address"
            case .shuttingDown: metadata["reason"] = "shutting down"
            }
            logger.info("connection refused", metadata: metadata)
            let reply =
                refusal == .shuttingDown
                ? SMTPReply(421, "4.3.2", "Service shutting down, try again later")
                : SMTPReply(421, "4.7.0", "Too many connections, try again later")
            try pipeline.addHandler(RefusalHandler(reply: reply))
            return
        }
        var listenerConfiguration = sessionConfiguration
        listenerConfiguration.offersStartTLS = kind == .submission && tls != nil
        listenerConfiguration.saslContext.passwordSourceOrder = listener.passwordSourceOrder
        listenerConfiguration.mechanisms = sessionConfiguration.mechanisms.usable(with: listener.passwordSourceOrder)
        let implicitTLS = kind == .implicitTLS
        let session = SMTPSession(
            configuration: listenerConfiguration,
            clientAddress: address,
            sessionID: registry.nextSessionID(),
            isTLS: implicitTLS,
            channelBindings: implicitTLS ? (tls?.channelBindings ?? []) : []
        )
        let environment = SMTPSessionHandler.Environment(
            sink: sink,
            logger: logger,
            authFailures: authFailures,
            threadPool: threadPool,
            tls: tls,
            implicitTLS: implicitTLS,
            commandTimeout: .span(sessionConfiguration.limits.commandTimeout),
            messageMemory: messageMemory,
            accountFailures: accountFailures
        )
        try pipeline.addHandler(SMTPSessionHandler(session: session, environment: environment))
    }

}

/// Answers a connection over the limits with one reply and closes it.
private final class RefusalHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let reply: SMTPReply
    private var sent = false

    init(reply: SMTPReply) { self.reply = reply }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { refuse(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        refuse(context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func refuse(context: ChannelHandlerContext) {
        guard !sent else { return }
        sent = true
        let buffer = context.channel.allocator.buffer(bytes: reply.encoded)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(buffer)).assumeIsolated().whenComplete { _ in
            channel.close(promise: nil)
        }
        // A client that never reads (or never finishes the handshake on port 465) is not waited for long.
        context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(10)) { channel.close(promise: nil) }
    }
}
