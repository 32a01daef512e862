/// One parsed SMTP command (RFC 5321, with STARTTLS of RFC 3207 and AUTH of RFC 4954).
public enum SMTPCommand: Sendable, Equatable {
    /// `EHLO domain` or `EHLO [address-literal]`.
    case ehlo(String)
    /// `HELO domain` or `HELO [address-literal]`.
    case helo(String)
    /// `MAIL FROM:<path> [parameters]`; `from` is `nil` for the null reverse-path `<>`.
    case mail(from: SMTPMailbox?, parameters: SMTPMailParameters)
    /// `RCPT TO:<path>`; no RCPT parameter is supported.
    case rcpt(to: SMTPForwardPath)
    /// `DATA`.
    case data
    /// `BDAT chunk-size [LAST]` (RFC 3030): `size` octets of message data follow the command line.
    case bdat(size: Int, isLast: Bool)
    /// `RSET`.
    case rset
    /// `NOOP [string]`.
    case noop
    /// `QUIT`.
    case quit
    /// `VRFY string`.
    case vrfy(String)
    /// `HELP [string]`.
    case help
    /// `STARTTLS`.
    case startTLS
    /// `AUTH mechanism [initial-response]`; the mechanism uppercased, the initial response still base64 (or `=`
    /// for an empty one), decoded by the session after it has checked that AUTH is allowed now.
    case auth(mechanism: String, initialResponse: String?)
}
