/// Why a command line was refused before the session looked at it: the reply to send, and whether the connection
/// must be closed after it.
public struct SMTPCommandError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The reply for the client (500, 501, 502, 555, or 421 for a line that is not SMTP at all).
    public var reply: SMTPReply
    /// Whether the server closes the connection after the reply (an HTTP request sent to the SMTP port).
    public var closesConnection: Bool
    /// Why the connection is closed, for the log's `smtp.reason`, when ``closesConnection`` is set.
    var closeReason = "not an SMTP client"

    /// Creates an error.
    public init(_ reply: SMTPReply, closesConnection: Bool = false) {
        self.reply = reply
        self.closesConnection = closesConnection
    }

    public var description: String { reply.description }
}
