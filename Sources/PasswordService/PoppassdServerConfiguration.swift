import NIOCore
import PasswordChange
import ServerKit

/// How a ``PoppassdServer`` listens and bounds its dialogues.
public struct PoppassdServerConfiguration: Sendable {
    /// One TCP listening socket.
    public struct Listener: Sendable, Equatable {
        /// The address to bind; a listener without TLS must be a loopback address.
        public var host: String
        /// The port; `0` lets the system choose (see ``PoppassdServer/listeningAddresses()``).
        public var port: Int
        /// Whether TLS starts with the first byte (poppassd has no STARTTLS).
        public var implicitTLS: Bool

        /// Creates a listener.
        ///
        /// - Parameters:
        ///   - host: the address to bind.
        ///   - port: the port, `0` for any free one.
        ///   - implicitTLS: whether the connection is TLS from the first byte.
        public init(host: String, port: Int, implicitTLS: Bool) {
            self.host = host
            self.port = port
            self.implicitTLS = implicitTLS
        }

        /// Whether the address is on the loopback interface (`127.0.0.0/8`, `::1`, `localhost`), where plaintext
        /// passwords never cross a network.
        public var isLoopback: Bool { isLoopbackHost(host) }
    }

    /// The TCP sockets.
    public var listeners: [Listener]
    /// The Unix-domain socket, `nil` for none. It is made mode 0666 (any local user may connect); the peer's uid
    /// decides whose password it may change. Its directory must exist.
    public var localSocketPath: String?
    /// The certificate and key; required by an ``Listener/implicitTLS`` listener.
    public var tls: ServerTLSConfiguration?
    /// How long the client may take to send each line: a client that stops mid-dialogue is cut off, and nothing has
    /// changed (the change happens only once `newpass` is complete).
    public var lineTimeout: TimeAmount
    /// How long a whole dialogue may take, however the client paces its lines (a slow drip holds no slot forever).
    public var sessionTimeout: TimeAmount
    /// The dialogue's bounds: protocol errors, the pause after a refusal.
    public var sessionLimits: PoppassdSession.Limits
    /// The most connections at once over all sockets; more are closed at once.
    public var maximumConnections: Int
    /// The most connections at once from one IP address (or one uid on the local socket).
    public var maximumConnectionsPerClient: Int
    /// The delays after failed changes, per client and per user (the same rules as SMTP AUTH).
    public var failurePolicy: AuthFailurePolicy
    /// On graceful shutdown: how long a change in progress may take to finish.
    public var drainTimeout: TimeAmount

    /// Creates a configuration.
    ///
    /// - Parameters:
    ///   - listeners: the TCP sockets.
    ///   - localSocketPath: the Unix-domain socket, or `nil`.
    ///   - tls: the certificate and key, for TLS listeners.
    ///   - lineTimeout: the time allowed per line.
    ///   - sessionTimeout: the time allowed per dialogue.
    ///   - sessionLimits: errors allowed, pause after a refusal.
    ///   - maximumConnections: the bound on connections.
    ///   - maximumConnectionsPerClient: the bound on connections per client.
    ///   - failurePolicy: the delays after failures.
    ///   - drainTimeout: how long graceful shutdown waits.
    public init(
        listeners: [Listener],
        localSocketPath: String? = nil,
        tls: ServerTLSConfiguration? = nil,
        lineTimeout: TimeAmount = .seconds(30),
        sessionTimeout: TimeAmount = .seconds(120),
        sessionLimits: PoppassdSession.Limits = PoppassdSession.Limits(),
        maximumConnections: Int = 100,
        maximumConnectionsPerClient: Int = 10,
        failurePolicy: AuthFailurePolicy = AuthFailurePolicy(),
        drainTimeout: TimeAmount = .seconds(10)
    ) {
        self.listeners = listeners
        self.localSocketPath = localSocketPath
        self.tls = tls
        self.lineTimeout = lineTimeout
        self.sessionTimeout = sessionTimeout
        self.sessionLimits = sessionLimits
        self.maximumConnections = maximumConnections
        self.maximumConnectionsPerClient = maximumConnectionsPerClient
        self.failurePolicy = failurePolicy
        self.drainTimeout = drainTimeout
    }
}
