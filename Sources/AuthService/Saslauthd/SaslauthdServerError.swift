/// Why a ``SaslauthdServer`` cannot start. The ``description`` names what to fix.
public enum SaslauthdServerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The configuration names no socket.
    case noSocket
    /// A socket path holds something that is not a socket, or a stale socket cannot be removed.
    case socketPath(String)
    /// A socket could not be bound (the others are closed again).
    case bindFailed(String)
    /// ``SaslauthdServer/run()`` was called twice.
    case alreadyStarted
    /// The server is not listening (it stopped, or failed to bind).
    case notListening

    public var description: String {
        switch self {
        case .noSocket: "the saslauthd service has no socket: name at least one path"
        case .socketPath(let detail): "saslauthd socket: \(detail)"
        case .bindFailed(let detail): "cannot listen for saslauthd requests on \(detail)"
        case .alreadyStarted: "the saslauthd server was already started"
        case .notListening: "the saslauthd server is not listening"
        }
    }
}
