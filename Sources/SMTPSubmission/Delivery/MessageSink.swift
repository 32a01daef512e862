/// The envelope and content of one submitted message, as handed to a ``MessageSink``.
public struct SubmittedMessage: Sendable {
    /// The envelope sender (`MAIL FROM`), empty for the null reverse-path `<>`.
    public var sender: String
    /// The envelope recipients (`RCPT TO`), in order, at least one.
    public var recipients: [String]
    /// The authenticated user who submitted it (`authid@realm`).
    public var authenticatedUser: String
    /// The message bytes as received (dot-unstuffed, CRLF line endings), including the `Received:` header the server
    /// prepended.
    public var data: [UInt8]
    /// A unique id for logs and file names.
    public var id: String
    /// The `MAIL FROM` parameters that matter downstream (BODY=8BITMIME, SMTPUTF8).
    public var parameters: [String: String]

    /// Creates a message.
    public init(
        sender: String,
        recipients: [String],
        authenticatedUser: String,
        data: [UInt8],
        id: String,
        parameters: [String: String] = [:]
    ) {
        self.sender = sender
        self.recipients = recipients
        self.authenticatedUser = authenticatedUser
        self.data = data
        self.id = id
        self.parameters = parameters
    }
}

/// Why a sink did not take a message. The server answers 4xx (try again later) for a temporary failure, 5xx for a
/// permanent one; `reason` goes to the log, never to the client verbatim.
public enum MessageSinkError: Error, Sendable, Equatable {
    /// The sink could not store the message now (disk full, relay down): 451 4.3.0.
    case temporary(reason: String)
    /// The sink will never take this message (relay rejected a recipient permanently): 554 5.0.0.
    case permanent(reason: String)
}

/// Where accepted messages go. `deliver` returns only when the message is durably held: the server answers 250 then.
///
/// Implementations may block (file I/O, a child process, a network relay); the server calls them off its event loops.
public protocol MessageSink: Sendable {
    /// Takes the message durably or throws ``MessageSinkError``.
    func deliver(_ message: SubmittedMessage) async throws(MessageSinkError)
}
