/// What the `Received:` header prepended to each message says (RFC 5321 section 4.4, RFC 3848, RFC 6531).
///
/// The header always names the EHLO name, this server's host name, the protocol (`ESMTPA`, `ESMTPSA`, or
/// `UTF8SMTPA`/`UTF8SMTPSA` with SMTPUTF8), the message id and the date, and names the recipient when there is
/// exactly one (never more, so Bcc recipients stay hidden from each other).
public struct SMTPReceivedHeaderOptions: Sendable, Equatable {
    /// Whether the header is added at all; `true` by default, as RFC 5321 requires of every SMTP server.
    public var isEnabled: Bool
    /// A product name shown after the host name, for example `sasl-smtpd`; `nil` (the default) shows none, so the
    /// header tells an attacker nothing about the software.
    public var software: String?
    /// Whether the client's IP address is shown (`from host ([192.0.2.1])`); `true` by default. Turn it off to keep
    /// users' home addresses out of the mail they send.
    public var includesClientAddress: Bool
    /// Whether the comment `(Authenticated sender: user)` is added; `true` by default, as Postfix's
    /// `smtpd_sasl_authenticated_header` does, so recipients' admins can trace abuse to an account.
    public var includesAuthenticatedSender: Bool

    /// Creates options; the defaults are documented on each property.
    public init(
        isEnabled: Bool = true,
        software: String? = nil,
        includesClientAddress: Bool = true,
        includesAuthenticatedSender: Bool = true
    ) {
        self.isEnabled = isEnabled
        self.software = software
        self.includesClientAddress = includesClientAddress
        self.includesAuthenticatedSender = includesAuthenticatedSender
    }
}
