import NIOCore
import SASLMechanisms
import ServerKit

/// How an ``SMTPServer`` listens: addresses, TLS, and the connection limits that hold for all its listeners.
///
/// The per-session limits (line lengths, message size, recipients, timeouts) live in `SMTPSessionConfiguration`.
public struct SMTPServerConfiguration: Sendable {
    /// One listening socket.
    public struct Listener: Sendable, Equatable {
        /// What the client gets on this port.
        public enum Kind: Sendable, Equatable {
            /// Port 587 (RFC 6409): plaintext greeting, `STARTTLS` offered, AUTH only once TLS is up.
            case submission
            /// Port 465 (RFC 8314): TLS from the first byte.
            case implicitTLS
            /// No TLS at all. For tests and for a loopback-only relay; never expose it.
            case plain
        }

        /// The address to bind, for example `0.0.0.0`, `::` or `127.0.0.1`.
        public var host: String
        /// The port to bind; `0` lets the system choose (see ``SMTPServer/listeningAddresses()``).
        public var port: Int
        /// What the client gets on this port.
        public var kind: Kind
        /// Which sources check the passwords of PLAIN and LOGIN on this port; with
        /// `PasswordSourceOrder.external` only those two are offered. The session configuration's
        /// `SASLServerContext/passwordSource` is the source besides the store.
        public var passwordSourceOrder: PasswordSourceOrder

        /// Creates a listener.
        ///
        /// - Parameters:
        ///   - host: the address to bind.
        ///   - port: the port, `0` for any free one.
        ///   - kind: submission (STARTTLS), implicit TLS, or plain.
        ///   - passwordSourceOrder: where PLAIN and LOGIN passwords are checked; the store by default.
        public init(host: String, port: Int, kind: Kind, passwordSourceOrder: PasswordSourceOrder = .store) {
            self.host = host
            self.port = port
            self.kind = kind
            self.passwordSourceOrder = passwordSourceOrder
        }
    }

    /// The sockets to listen on.
    public var listeners: [Listener]
    /// The certificate and key; required when a listener is `submission` or `implicitTLS`.
    public var tls: ServerTLSConfiguration?
    /// The most connections served at once, over all listeners; more are answered `421 4.7.0` and closed.
    /// Bounds memory and file descriptors against a connection flood.
    public var maximumConnections: Int
    /// The most connections served at once from one client IP address; more are answered `421 4.7.0` and closed.
    /// Stops one host from taking every slot.
    public var maximumConnectionsPerAddress: Int
    /// The listen backlog of each socket.
    public var backlog: Int32
    /// On graceful shutdown: how long sessions may take to finish (a message being delivered, a client ending its
    /// transaction) before they are closed.
    public var drainTimeout: TimeAmount
    /// How failed AUTH attempts from one address slow it down, across its connections.
    public var authFailurePolicy: AuthFailurePolicy
    /// The message bytes all connections together may hold in memory while messages arrive: 512 MiB. Beyond it a
    /// message is refused with 452 4.3.1 and the client tries again later, so slow clients sending large messages
    /// cannot make the server hold `maximumConnections` times the message size limit.
    public var messageMemoryLimit: Int

    /// Creates a configuration.
    ///
    /// - Parameters:
    ///   - listeners: the sockets to listen on.
    ///   - tls: the certificate and key; required by `submission` and `implicitTLS` listeners.
    ///   - maximumConnections: the bound on concurrent connections.
    ///   - maximumConnectionsPerAddress: the bound on concurrent connections from one IP address.
    ///   - backlog: the listen backlog.
    ///   - drainTimeout: how long graceful shutdown waits for sessions.
    ///   - authFailurePolicy: the delays after failed AUTH.
    ///   - messageMemoryLimit: the message bytes held at once across connections.
    public init(
        listeners: [Listener],
        tls: ServerTLSConfiguration? = nil,
        maximumConnections: Int = 1000,
        maximumConnectionsPerAddress: Int = 20,
        backlog: Int32 = 256,
        drainTimeout: TimeAmount = .seconds(30),
        authFailurePolicy: AuthFailurePolicy = AuthFailurePolicy(),
        messageMemoryLimit: Int = 512 * 1024 * 1024
    ) {
        self.listeners = listeners
        self.tls = tls
        self.maximumConnections = maximumConnections
        self.maximumConnectionsPerAddress = maximumConnectionsPerAddress
        self.backlog = backlog
        self.drainTimeout = drainTimeout
        self.authFailurePolicy = authFailurePolicy
        self.messageMemoryLimit = messageMemoryLimit
    }
}
