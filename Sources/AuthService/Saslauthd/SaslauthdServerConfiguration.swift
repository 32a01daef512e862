import NIOCore

/// Where a ``SaslauthdServer`` listens and how it bounds its connections.
public struct SaslauthdServerConfiguration: Sendable, Equatable {
    /// The Unix-domain sockets, each served alike: Debian's `/run/saslauthd/mux`, and for a Postfix in its chroot
    /// `/var/spool/postfix/var/run/saslauthd/mux`. Each is made mode 0666: as with Debian's saslauthd, access is
    /// guarded by the directory (group `sasl`, mode 0710), which must exist.
    public var socketPaths: [String]
    /// The longest string accepted in each field of a request.
    public var limits: SaslauthdRequestParser.Limits
    /// How long a peer may take to send its request; a stalled one is closed without an answer.
    public var requestTimeout: TimeAmount
    /// The most connections at once over all sockets; more are closed at once (the peer sees a failure, as when
    /// saslauthd is down). Each Postfix `smtpd` holds at most one, for one request.
    public var maximumConnections: Int
    /// On graceful shutdown: how long checks in progress may take to be answered.
    public var drainTimeout: TimeAmount

    /// Creates a configuration.
    ///
    /// - Parameters:
    ///   - socketPaths: the sockets to listen on.
    ///   - limits: the longest string per field.
    ///   - requestTimeout: the time allowed to send a request.
    ///   - maximumConnections: the bound on connections.
    ///   - drainTimeout: how long graceful shutdown waits.
    public init(
        socketPaths: [String],
        limits: SaslauthdRequestParser.Limits = SaslauthdRequestParser.Limits(),
        requestTimeout: TimeAmount = .seconds(10),
        maximumConnections: Int = 256,
        drainTimeout: TimeAmount = .seconds(10)
    ) {
        self.socketPaths = socketPaths
        self.limits = limits
        self.requestTimeout = requestTimeout
        self.maximumConnections = max(1, maximumConnections)
        self.drainTimeout = drainTimeout
    }
}
