import SASLDB
import SASLMechanisms

/// One SMTP submission session as a pure state machine: every event is a `mutating` method that returns the
/// ``SMTPSessionAction``s its driver performs, in order. No I/O, no clock, no logging happen here, so every rule can
/// be tested without a socket.
///
/// The phases follow OpenSMTPD's: connected → greeted (EHLO) → optionally TLS (back to connected) → authenticated →
/// in a mail transaction → in data → delivering. Authentication is required before MAIL (530 5.7.0), so the server
/// is never an open relay; with ``SMTPSessionConfiguration/requiresTLS`` (the default) AUTH is refused before TLS.
///
/// The driver's side of the contract:
/// - frame lines ending in CRLF, at most ``maximumLineLength`` bytes before the CRLF (read it again after every
///   call: it depends on the phase), and call ``receiveLine(_:)`` with each line without its CRLF;
/// - call ``lineTooLong()`` instead for a longer line, after discarding it up to its CRLF;
/// - while ``chunkOctetsExpected`` is not 0 (after a BDAT command), frame no lines: pass that many octets, as they
///   arrive, to ``receiveChunkOctets(_:)``;
/// - call ``bareLineEnding()`` when a CR not followed by LF, or an LF not preceded by CR, ends a piece of input.
///   Deliver the bytes before it either not at all (best) or as a line, but in both cases call
///   ``bareLineEnding()`` before the line that follows it, never after: that order is what stops SMTP smuggling;
/// - after ``SMTPSessionAction/runSASLStep(_:)``, ``SMTPSessionAction/deliver(_:)`` or
///   ``SMTPSessionAction/startTLS`` feed no input until the matching completion call; input that arrives anyway
///   is ignored (and, while TLS starts, must be discarded by the driver: CVE-2011-0411);
/// - call ``timedOut()`` after ``SMTPLimits/commandTimeout`` without a line.
public struct SMTPSession: Sendable {
    /// The configuration shared by the listener's sessions.
    public let configuration: SMTPSessionConfiguration
    /// The client's IP address as text (`192.0.2.1`, `2001:db8::1`), for logs and the `Received:` header.
    public let clientAddress: String
    /// The session's id, for logs; message ids are made from it.
    public let sessionID: String
    /// Whether the connection is protected by TLS (implicit TLS, or after STARTTLS).
    public internal(set) var isTLS: Bool
    /// Who authenticated, once AUTH succeeded; forgotten when STARTTLS starts a new session (RFC 3207 section 4.2).
    public internal(set) var authenticatedIdentity: AuthenticatedIdentity?

    var phase = SMTPSessionPhase.notStarted
    var channelBindings: [SCRAMChannelBinding]
    /// The EHLO or HELO argument.
    var helloName: String?
    /// Whether the client said EHLO (extensions allowed) rather than HELO.
    var saidEHLO = false
    var transaction: MailTransaction?
    var exchange: SASLExchange?
    var dataReceiver: MessageDataReceiver?
    /// The BDAT chunk being read.
    var chunk: BDATChunk?
    /// Whether the last command was a BDAT whose message was refused, so that chunks the client had already pipelined
    /// behind it are not counted as errors.
    var followsFailedChunk = false
    /// The log fields of the message handed to the sink, until its result arrives.
    var deliveryLogFields: [String: String]?
    var failedAuthentications = 0
    var errors = 0
    /// Command lines received while nobody is authenticated (``SMTPLimits/commandsBeforeLogin``).
    var commandsBeforeLogin = 0
    var messagesStarted = 0

    /// Creates a session for a new connection; call ``start()`` next.
    ///
    /// - Parameters:
    ///   - configuration: the listener's configuration.
    ///   - clientAddress: the peer's IP address as text.
    ///   - sessionID: an id unique across the server's lifetime, for logs and message ids; a random one by default.
    ///   - isTLS: `true` on an implicit-TLS listener (port 465), where the handshake happened before the greeting.
    ///   - channelBindings: the TLS channel bindings of an implicit-TLS connection, for SCRAM `-PLUS`.
    public init(
        configuration: SMTPSessionConfiguration,
        clientAddress: String,
        sessionID: String = SMTPSession.makeSessionID(),
        isTLS: Bool = false,
        channelBindings: [SCRAMChannelBinding] = []
    ) {
        self.configuration = configuration
        self.clientAddress = clientAddress
        self.sessionID = sessionID
        self.isTLS = isTLS
        self.channelBindings = isTLS ? channelBindings : []
    }

    /// A random session id: 16 characters of Crockford's base32 (80 bits), safe in file names and logs.
    public static func makeSessionID() -> String {
        let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".unicodeScalars)
        var text = ""
        for byte in secureRandomBytes(count: 16) { text.unicodeScalars.append(alphabet[Int(byte & 31)]) }
        return text
    }

    /// The user who authenticated (`authid@realm`), if any.
    public var authenticatedUser: UserID? { authenticatedIdentity?.user }

    /// Whether the session asked for the connection to be closed.
    public var isClosed: Bool { phase == .closed }

    /// The most bytes the next line may hold before its CRLF.
    ///
    /// While commands are read this is the AUTH line limit, because an AUTH command with an initial response may be
    /// that long (RFC 4954 section 4) and a pipelining client may send one behind other commands; the session itself
    /// refuses any other command longer than ``SMTPLimits/commandLineLength``. In DATA it is the text line limit.
    public var maximumLineLength: Int {
        let limits = configuration.limits
        switch phase {
        case .inData: return limits.textLineLength - 2
        default: return max(limits.authLineLength, limits.commandLineLength) - 2
        }
    }

    /// The greeting: `220 host ESMTP`.
    public mutating func start() -> [SMTPSessionAction] {
        guard phase == .notStarted else { return [ignoredEvent("start")] }
        phase = .connected
        return [.send(SMTPReply(220, nil, "\(configuration.hostName) \(configuration.greeting)"))]
    }

    /// One line from the client, without its CRLF: a command, a SASL response, or message text, by phase.
    public mutating func receiveLine(_ line: [UInt8]) -> [SMTPSessionAction] {
        switch phase {
        case .connected, .greeted, .inTransaction: return receiveCommand(line)
        case .authenticating: return receiveAuthenticationResponse(line)
        case .inData: return receiveDataLine(line)
        case .closed: return []
        case .notStarted, .awaitingSASLStep, .inChunk, .awaitingDelivery, .awaitingTLS: return [ignoredEvent("line")]
        }
    }

    /// The driver dropped a line longer than ``maximumLineLength``.
    ///
    /// A command gets 500 5.5.6; a SASL response ends the exchange with 500 5.5.6 (RFC 4954); in DATA the message is
    /// refused with 500 5.5.6 after its final dot.
    public mutating func lineTooLong() -> [SMTPSessionAction] {
        switch phase {
        case .connected, .greeted, .inTransaction:
            return reject(.lineTooLong)
        case .authenticating:
            return abandonExchange(reply: .authenticationLineTooLong, result: "line-too-long")
        case .inData:
            dataReceiver?.lineTooLong()
            return []
        case .closed: return []
        case .notStarted, .awaitingSASLStep, .inChunk, .awaitingDelivery, .awaitingTLS:
            return [ignoredEvent("lineTooLong")]
        }
    }

    /// The driver met a bare CR or LF (see the type's discussion for the order of calls).
    ///
    /// A command gets 500 5.5.2; a SASL exchange ends with 500 5.5.2; in DATA the message is refused with 554 5.6.0
    /// after the real CRLF.CRLF, and the line right after the bare ending can never be that final dot.
    public mutating func bareLineEnding() -> [SMTPSessionAction] {
        switch phase {
        case .connected, .greeted, .inTransaction:
            return reject(.bareLineEndingInCommand)
        case .authenticating:
            return abandonExchange(reply: .bareLineEndingInCommand, result: "bare-line-ending")
        case .inData:
            let first = dataReceiver?.refusal != .bareLineEnding
            dataReceiver?.bareLineEnding()
            return first ? [event(.notice, "bare line ending in message data", [:])] : []
        case .closed: return []
        case .notStarted, .awaitingSASLStep, .inChunk, .awaitingDelivery, .awaitingTLS:
            return [ignoredEvent("bareLineEnding")]
        }
    }

    /// No line arrived for ``SMTPLimits/commandTimeout``: 421 4.4.2 and close.
    public mutating func timedOut() -> [SMTPSessionAction] {
        guard phase != .closed else { return [] }
        return closeConnection(with: .timeout(host: configuration.hostName), level: .info, reason: "timeout")
    }

    /// The server is stopping: 421 4.3.2 and close. Call it between messages (not while delivering) to stop gently.
    public mutating func shuttingDown() -> [SMTPSessionAction] {
        guard phase != .closed else { return [] }
        return closeConnection(with: .shuttingDown(host: configuration.hostName), level: .info, reason: "shutdown")
    }

    // MARK: Helpers shared by the extensions

    /// Parses a command line and runs it.
    mutating func receiveCommand(_ line: [UInt8]) -> [SMTPSessionAction] {
        let afterFailedChunk = followsFailedChunk
        followsFailedChunk = false
        let limits = configuration.limits
        if authenticatedIdentity == nil {
            commandsBeforeLogin += 1
            guard commandsBeforeLogin <= limits.commandsBeforeLogin else {
                return closeConnection(
                    with: .tooManyCommandsBeforeLogin(host: configuration.hostName),
                    level: .notice,
                    reason: "commands before login"
                )
            }
        }
        if line.count > limits.commandLineLength - 2, !Self.isAUTHCommand(line) { return reject(.lineTooLong) }
        let command: SMTPCommand
        do {
            command = try SMTPCommandParser.parse(line)
        } catch {
            guard !error.closesConnection else {
                return closeConnection(with: error.reply, level: .notice, reason: error.closeReason)
            }
            return reject(error.reply)
        }
        switch command {
        case .ehlo(let name): return hello(name, extended: true)
        case .helo(let name): return hello(name, extended: false)
        case .startTLS: return startTLS()
        case .auth(let mechanism, let initialResponse): return authenticate(mechanism, initialResponse: initialResponse)
        case .mail(let sender, let parameters): return mail(from: sender, parameters: parameters)
        case .rcpt(let recipient): return rcpt(to: recipient)
        case .data: return data()
        case .bdat(let size, let isLast): return bdat(size: size, isLast: isLast, afterFailedChunk: afterFailedChunk)
        case .rset:
            if phase == .inTransaction { phase = .greeted }
            transaction = nil
            return [.send(.ok)]
        case .noop: return [.send(.ok)]
        case .help: return [.send(.help(chunking: configuration.offersChunking))]
        case .vrfy:
            guard !mustStartTLSFirst else { return reject(.mustStartTLS) }
            return [.send(.cannotVerify)]
        case .quit:
            phase = .closed
            return [.send(.closing), .close]
        }
    }

    /// Whether a line starts with the AUTH verb, which may be longer than other commands.
    static func isAUTHCommand(_ line: [UInt8]) -> Bool {
        let verb = Array("AUTH ".utf8)
        return line.count >= verb.count && SMTPSyntax.equalsIgnoringASCIICase(line.prefix(verb.count), verb)
    }

    /// Sends a refusal and counts it; too many refusals close the connection.
    mutating func reject(_ reply: SMTPReply) -> [SMTPSessionAction] {
        errors += 1
        guard errors >= configuration.limits.errorsPerConnection else { return [.send(reply)] }
        return [.send(reply)]
            + closeConnection(with: .tooManyErrors(host: configuration.hostName), level: .notice, reason: "errors")
    }

    /// Sends a final reply and closes.
    mutating func closeConnection(
        with reply: SMTPReply,
        level: SMTPLogEvent.Level,
        reason: String
    ) -> [SMTPSessionAction] {
        phase = .closed
        exchange?.erase()
        exchange = nil
        transaction = nil
        dataReceiver = nil
        chunk = nil
        return [.send(reply), event(level, "closing connection", ["smtp.reason": reason]), .close]
    }

    /// A log event with the session's fields.
    func event(_ level: SMTPLogEvent.Level, _ message: String, _ fields: [String: String]) -> SMTPSessionAction {
        var metadata = ["smtp.session": sessionID, "client.address": clientAddress]
        metadata.merge(fields) { _, new in new }
        return .log(SMTPLogEvent(level, message, metadata))
    }

    /// An event the driver should not have sent in this phase: logged, otherwise ignored.
    func ignoredEvent(_ name: String) -> SMTPSessionAction {
        event(.warning, "input ignored", ["smtp.event": name, "smtp.phase": "\(phase)"])
    }
}
