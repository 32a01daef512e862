import SASLMechanisms

/// Everything one SMTP submission session needs to know, shared by all sessions of a listener.
///
/// The defaults are those of a submission listener on port 587 (RFC 6409, RFC 8314): AUTH only after TLS, MAIL only
/// after AUTH. ``offersStartTLS`` is off until the embedder has a certificate: with the defaults alone nobody can
/// authenticate, which fails closed rather than sending passwords in the clear.
public struct SMTPSessionConfiguration: Sendable {
    /// The name the server gives in its greeting, EHLO reply and `Received:` headers.
    public var hostName: String
    /// The text of the 220 greeting after the host name; `ESMTP` by default (no product or version).
    public var greeting: String
    /// Where mechanisms read secrets and how login names map to users.
    public var saslContext: SASLServerContext
    /// Which mechanisms are offered, and which of them before TLS.
    public var mechanisms: MechanismPolicy
    /// The PBKDF2 count for SCRAM users who have only a plaintext password: 4096 by default.
    public var scramIterations: Int
    /// The hosts DIGEST-MD5 accepts in `digest-uri`: the context's host name by default.
    public var digestHosts: DigestMD5Mechanism.AcceptedHosts
    /// The bounds of a connection.
    public var limits: SMTPLimits
    /// Whether nothing but EHLO, HELO, STARTTLS, NOOP, RSET, HELP and QUIT is served before TLS (530 5.7.0 "Must
    /// issue a STARTTLS command first"); `true` by default, as RFC 3207 section 4 allows a submission server to do.
    /// When `false`, mechanisms listed in `MechanismPolicy.allowedWithoutTLS` may run in the clear.
    public var requiresTLS: Bool
    /// Whether STARTTLS is offered: set it when the listener has a TLS context; `false` by default.
    public var offersStartTLS: Bool
    /// Whether EHLO also lists `AUTH=PLAIN LOGIN`, the pre-RFC form that Outlook Express and Outlook 2003-era clients
    /// look for; `false` by default.
    public var legacyAuthEquals: Bool
    /// Whether EHLO lists `CHUNKING` and BDAT is accepted (RFC 3030); `true` by default. When `false`, BDAT gets 502
    /// 5.5.1, its octets still read so that they are never taken for commands.
    public var offersChunking: Bool
    /// Which senders an authenticated user may use.
    public var senderPolicy: SenderPolicy
    /// What the `Received:` header says.
    public var receivedHeader: SMTPReceivedHeaderOptions
    /// The current time, for `Received:` headers; supplied by the embedder so that the session reads no clock.
    public var clock: @Sendable () -> SMTPTimestamp

    /// Creates a configuration.
    ///
    /// - Parameters:
    ///   - hostName: the server's name (greeting, EHLO, `Received:`).
    ///   - saslContext: the credential lookup and login mapping for AUTH.
    ///   - clock: the current time with the UTC offset to show it in.
    public init(
        hostName: String,
        greeting: String = "ESMTP",
        saslContext: SASLServerContext,
        mechanisms: MechanismPolicy = MechanismPolicy(),
        scramIterations: Int = 4096,
        digestHosts: DigestMD5Mechanism.AcceptedHosts = .hostNameOnly,
        limits: SMTPLimits = SMTPLimits(),
        requiresTLS: Bool = true,
        offersStartTLS: Bool = false,
        legacyAuthEquals: Bool = false,
        offersChunking: Bool = true,
        senderPolicy: SenderPolicy = SenderPolicy(),
        receivedHeader: SMTPReceivedHeaderOptions = SMTPReceivedHeaderOptions(),
        clock: @escaping @Sendable () -> SMTPTimestamp
    ) {
        self.hostName = hostName
        self.greeting = greeting
        self.saslContext = saslContext
        self.mechanisms = mechanisms
        self.scramIterations = scramIterations
        self.digestHosts = digestHosts
        self.limits = limits
        self.requiresTLS = requiresTLS
        self.offersStartTLS = offersStartTLS
        self.legacyAuthEquals = legacyAuthEquals
        self.offersChunking = offersChunking
        self.senderPolicy = senderPolicy
        self.receivedHeader = receivedHeader
        self.clock = clock
    }
}
