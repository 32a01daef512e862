import NIOCore
import ServerKit

/// How a ``DovecotAuthServer`` listens and answers.
public struct DovecotAuthServerConfiguration: Sendable {
    /// The Unix-domain socket and who may connect to it.
    public struct LocalSocket: Sendable, Equatable {
        /// The path; its directory must exist (Postfix's is `private/auth` under its queue directory).
        public var path: String
        /// The owner given to the socket, `nil` to keep the daemon's.
        public var owner: UInt32?
        /// The group given to the socket, `nil` to keep the daemon's.
        public var group: UInt32?
        /// The permission bits: who may connect (a connection may test passwords, so 0660 for the MTA's account).
        public var mode: UInt16

        /// Creates a socket description.
        ///
        /// - Parameters:
        ///   - path: the socket's path.
        ///   - owner: its owner's uid, or `nil`.
        ///   - group: its group's gid, or `nil`.
        ///   - mode: its permission bits.
        public init(path: String, owner: UInt32? = nil, group: UInt32? = nil, mode: UInt16 = 0o660) {
            self.path = path
            self.owner = owner
            self.group = group
            self.mode = mode & 0o777
        }
    }

    /// The Unix-domain socket, `nil` for none.
    public var localSocket: LocalSocket?
    /// TCP listeners, which must be on loopback (the protocol is in the clear and passwords cross it).
    public var tcpListeners: [TCPListener]
    /// What every connection shares: the store, the mechanisms, the request timeout.
    public var connection: DovecotAuthConnection.Configuration
    /// The pause before every counted `FAIL` (Dovecot's `auth_failure_delay` is 2 s).
    public var failureDelay: TimeAmount
    /// The longest delay a `FAIL` or a first step waits, whatever the trackers ask: Postfix gives up after 10 s.
    public var maximumFailureDelay: TimeAmount
    /// The most connections at once (a Postfix smtpd process holds one).
    public var maximumConnections: Int
    /// On graceful shutdown: how long steps in flight may take to be answered.
    public var drainTimeout: TimeAmount

    /// One loopback TCP listening socket.
    public struct TCPListener: Sendable, Equatable {
        /// The address to bind: a loopback address.
        public var host: String
        /// The port; `0` lets the system choose (see ``DovecotAuthServer/listeningAddresses()``).
        public var port: Int

        /// Creates a listener.
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
    }

    /// Creates a configuration.
    ///
    /// - Parameters:
    ///   - localSocket: the Unix-domain socket, or `nil`.
    ///   - tcpListeners: loopback TCP listeners (`port` 0 lets the system choose).
    ///   - connection: what every connection shares.
    ///   - failureDelay: the pause before a counted failure's answer.
    ///   - maximumFailureDelay: the cap of every delay.
    ///   - maximumConnections: the bound on connections.
    ///   - drainTimeout: how long graceful shutdown waits.
    public init(
        localSocket: LocalSocket?,
        tcpListeners: [TCPListener] = [],
        connection: DovecotAuthConnection.Configuration,
        failureDelay: TimeAmount = .seconds(1),
        maximumFailureDelay: TimeAmount = .seconds(5),
        maximumConnections: Int = 1000,
        drainTimeout: TimeAmount = .seconds(10)
    ) {
        self.localSocket = localSocket
        self.connection = connection
        self.failureDelay = failureDelay
        self.maximumFailureDelay = maximumFailureDelay
        self.maximumConnections = maximumConnections
        self.drainTimeout = drainTimeout
        self.tcpListeners = tcpListeners
    }
}
