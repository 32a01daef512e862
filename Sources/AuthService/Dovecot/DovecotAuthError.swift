/// Why a ``DovecotAuthServer`` could not start.
public enum DovecotAuthError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A TCP listener off loopback: the protocol carries passwords in the clear.
    case notLoopback(String)
    /// A socket could not be bound (its address or path and the system's reason).
    case bindFailed(String)
    /// The socket's owner, group or mode could not be set.
    case socketPermissions(String)
    /// ``DovecotAuthServer/run()`` was called twice.
    case alreadyStarted
    /// The server is not listening (it stopped or failed to bind).
    case notListening

    public var description: String {
        switch self {
        case .notLoopback(let address):
            "dovecot_auth_listen \(address) is not a loopback address: the protocol carries passwords in the clear"
        case .bindFailed(let detail): "cannot listen for Dovecot auth clients on \(detail)"
        case .socketPermissions(let detail): "cannot set the Dovecot auth socket's owner or mode: \(detail)"
        case .alreadyStarted: "the Dovecot auth server was started twice"
        case .notListening: "the Dovecot auth server is not listening"
        }
    }
}
