/// The argument of `RCPT TO`: a mailbox, or the bare `<Postmaster>` that every SMTP server must accept
/// (RFC 5321 section 4.5.1).
public enum SMTPForwardPath: Sendable, Hashable, CustomStringConvertible {
    /// `<Postmaster>` without a domain: the postmaster of this server.
    case postmaster
    /// An ordinary recipient.
    case mailbox(SMTPMailbox)

    /// The address as text: `Postmaster` or `local@domain`.
    public var description: String {
        switch self {
        case .postmaster: return "Postmaster"
        case .mailbox(let mailbox): return mailbox.description
        }
    }

    /// Whether the address is all ASCII.
    public var isASCII: Bool {
        switch self {
        case .postmaster: return true
        case .mailbox(let mailbox): return mailbox.isASCII
        }
    }
}
