/// Why ``SMTPClientConnection`` could not go on; none of them is the server's reply (those are values).
package enum SMTPClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Nothing came (or could be sent) for this long while waiting for `step`.
    case timedOut(step: String)
    /// The server closed the connection.
    case connectionClosed
    /// The server sent something that is not an SMTP reply.
    case malformedReply(String)
    /// The server sent data right after `220` to STARTTLS, before the TLS handshake: a man in the middle trying to
    /// inject commands into the protected session (CVE-2011-0411's mirror image).
    case dataBeforeTLS
    /// An `AUTH` exchange was cancelled with `*`: the server's challenge could not be answered, for this reason.
    case authenticationCancelled(String)
    /// The server's certificate verified, but does not hold this host name (only, say, the address connected to).
    case certificateDoesNotName(String)

    package var description: String {
        switch self {
        case .timedOut(let step): return "timed out waiting for \(step)"
        case .connectionClosed: return "connection closed by the server"
        case .malformedReply(let line): return "malformed reply: \(line)"
        case .dataBeforeTLS: return "server sent data before the TLS handshake"
        case .authenticationCancelled(let reason): return "AUTH cancelled: \(reason)"
        case .certificateDoesNotName(let name): return "the server's certificate does not name \(name)"
        }
    }
}
