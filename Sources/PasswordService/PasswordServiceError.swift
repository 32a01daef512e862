/// Why a ``PoppassdServer`` cannot start or reload. The ``description`` names what to fix.
public enum PasswordServiceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A listener without TLS is not on a loopback address: passwords would cross the network in the clear.
    case plaintextNotLoopback(String)
    /// A TLS listener has no certificate, or the certificate or key cannot be used.
    case tls(String)
    /// A socket could not be bound (the others are closed again).
    case bindFailed(String)
    /// The local socket's path holds something that is not a socket, or cannot be made usable.
    case localSocket(String)
    /// ``PoppassdServer/run()`` was called twice.
    case alreadyStarted
    /// The server is not listening (it stopped, or failed to bind).
    case notListening
    /// The privileged password writer could not be started.
    case passwordWriter(String)

    public var description: String {
        switch self {
        case .plaintextNotLoopback(let listener):
            "poppassd listener \(listener) is not a loopback address: give it TLS, or bind it to 127.0.0.1"
        case .tls(let detail): "poppassd TLS: \(detail)"
        case .bindFailed(let detail): "cannot listen for poppassd on \(detail)"
        case .localSocket(let detail): "password socket: \(detail)"
        case .alreadyStarted: "the poppassd server was already started"
        case .notListening: "the poppassd server is not listening"
        case .passwordWriter(let detail): "cannot start the password writer: \(detail)"
        }
    }
}
