/// The bounds of one SMTP connection; each names the abuse it stops. Defaults follow RFC 5321 section 4.5.3 and
/// Postfix's `smtpd` where the RFC leaves a choice.
///
/// Line lengths count the CRLF, as RFC 5321 section 4.5.3.1 does; ``SMTPSession/maximumLineLength`` gives the
/// driver the number of bytes before the CRLF.
public struct SMTPLimits: Sendable, Equatable {
    /// The longest command line, CRLF included: 512 (RFC 5321 section 4.5.3.1.4). Bounds the memory one client holds
    /// while the server frames a command.
    public var commandLineLength: Int
    /// The longest AUTH command or SASL response line, CRLF included: 12288 (RFC 4954 section 4), room for SCRAM and
    /// DIGEST-MD5 messages in base64.
    public var authLineLength: Int
    /// The longest line of message text, CRLF included: 1000 (RFC 5321 section 4.5.3.1.6). A longer line fails the
    /// message after its final dot: a relay would have to break it, changing what the user signed or sent.
    public var textLineLength: Int
    /// The largest message in bytes (after dot-unstuffing, without the `Received:` header added), advertised as
    /// `SIZE`: 25 MiB by default. Bounds memory and spool space per message.
    public var messageSize: Int
    /// Recipients per message: 100 (RFC 5321 section 4.5.3.1.8's minimum, and what stops one account from
    /// spamming thousands of addresses in one transaction). Beyond it: 452 4.5.3.
    public var recipientsPerMessage: Int
    /// Messages per connection: 100. Beyond it MAIL gets 421 and the connection closes.
    public var messagesPerConnection: Int
    /// Failed AUTH attempts per connection before 421 4.7.0 and close: 3. Slows password guessing; the server adds
    /// a limit per client address across connections through ``SMTPSessionAction/recordAuthFailure(user:credential:)``.
    public var failedAuthPerConnection: Int
    /// Refused commands per connection before 421 4.7.0 and close: 20, as Postfix's `smtpd_hard_error_limit`.
    /// Stops clients that are not speaking SMTP (or are probing) from holding a connection forever.
    public var errorsPerConnection: Int
    /// The pause after the first failed AUTH: 1 second.
    public var authFailureDelay: Duration
    /// The factor by which each further failure multiplies the pause: 2 (1 s, 2 s, 4 s, ...).
    public var authFailureDelayGrowth: Int
    /// The longest pause: 15 seconds, below the time common clients wait for a reply.
    public var authFailureDelayMaximum: Duration
    /// How long the driver waits for the next line before calling ``SMTPSession/timedOut()``: 5 minutes (RFC 5321
    /// section 4.5.3.2.7). Frees connections that idle or trickle.
    public var commandTimeout: Duration
    /// Command lines a client may send before it authenticates: 50. Beyond it 421 4.7.0 and close, so a NOOP just
    /// inside each ``commandTimeout`` cannot hold a connection (and its slot of the per-address limit) for ever.
    public var commandsBeforeLogin: Int
    /// The whole time a client has from connecting to a successful AUTH: 5 minutes; then 421 4.4.2 and close, the
    /// time-based twin of ``commandsBeforeLogin``.
    public var timeBeforeLogin: Duration
    /// The largest BDAT chunk read (and thrown away) from a client that has not authenticated: 64 KiB. A larger one
    /// gets its 503 at once and the connection closes, since nobody may stream octets at the server before it knows
    /// who they are.
    public var chunkBeforeLogin: Int

    /// Creates limits; every default is documented on its property.
    public init(
        commandLineLength: Int = 512,
        authLineLength: Int = 12_288,
        textLineLength: Int = 1000,
        messageSize: Int = 25 * 1024 * 1024,
        recipientsPerMessage: Int = 100,
        messagesPerConnection: Int = 100,
        failedAuthPerConnection: Int = 3,
        errorsPerConnection: Int = 20,
        authFailureDelay: Duration = .seconds(1),
        authFailureDelayGrowth: Int = 2,
        authFailureDelayMaximum: Duration = .seconds(15),
        commandTimeout: Duration = .seconds(300),
        commandsBeforeLogin: Int = 50,
        timeBeforeLogin: Duration = .seconds(300),
        chunkBeforeLogin: Int = 64 * 1024
    ) {
        self.commandLineLength = commandLineLength
        self.authLineLength = authLineLength
        self.textLineLength = textLineLength
        self.messageSize = messageSize
        self.recipientsPerMessage = recipientsPerMessage
        self.messagesPerConnection = messagesPerConnection
        self.failedAuthPerConnection = failedAuthPerConnection
        self.errorsPerConnection = errorsPerConnection
        self.authFailureDelay = authFailureDelay
        self.authFailureDelayGrowth = authFailureDelayGrowth
        self.authFailureDelayMaximum = authFailureDelayMaximum
        self.commandTimeout = commandTimeout
        self.commandsBeforeLogin = commandsBeforeLogin
        self.timeBeforeLogin = timeBeforeLogin
        self.chunkBeforeLogin = chunkBeforeLogin
    }

    /// The pause after the `failures`-th failed AUTH of a connection (1-based), in milliseconds.
    public func authFailurePauseMilliseconds(afterFailure failures: Int) -> Int {
        var pause = Self.milliseconds(authFailureDelay)
        let maximum = Self.milliseconds(authFailureDelayMaximum)
        var failure = 1
        while failure < failures, pause < maximum {
            let (grown, overflow) = pause.multipliedReportingOverflow(by: max(authFailureDelayGrowth, 1))
            pause = overflow ? maximum : grown
            failure += 1
        }
        return max(0, min(pause, maximum))
    }

    private static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return Int(clamping: seconds) &* 1000 &+ Int(attoseconds / 1_000_000_000_000_000)
    }
}
