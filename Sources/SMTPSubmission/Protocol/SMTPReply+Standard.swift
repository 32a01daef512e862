// The replies of this server, in one place so that codes, enhanced codes (RFC 3463, RFC 4954, RFC 6531) and wording
// stay consistent. Replies to the greeting, EHLO/HELO and 354 and 334 carry no enhanced code (RFC 2034 section 3).
extension SMTPReply {
    // MARK: Command syntax (RFC 5321 section 4.2.2)

    static let commandUnrecognized = SMTPReply(500, "5.5.2", "Syntax error, command unrecognized")
    static let nulInCommand = SMTPReply(500, "5.5.2", "Syntax error, NUL byte in command")
    static let controlCharacterInCommand = SMTPReply(500, "5.5.2", "Syntax error, control character in command")
    static let eightBitInCommand = SMTPReply(500, "5.5.2", "Syntax error, 8-bit character outside an address")
    static let bareLineEndingInCommand = SMTPReply(500, "5.5.2", "Syntax error, bare CR or LF: lines end with CRLF")
    static let lineTooLong = SMTPReply(500, "5.5.6", "Line too long")
    static let commandNotImplemented = SMTPReply(502, "5.5.1", "Command not implemented")
    static let noParametersAllowed = SMTPReply(501, "5.5.4", "Syntax error, no parameters allowed")
    static let badSenderAddress = SMTPReply(501, "5.1.7", "Bad sender address syntax")
    static let badRecipientAddress = SMTPReply(501, "5.1.3", "Bad recipient address syntax")
    static let badParameterSyntax = SMTPReply(501, "5.5.4", "Syntax error in parameters")
    static let parametersNeedEHLO = SMTPReply(555, "5.5.4", "MAIL parameters need EHLO, not HELO")

    static func syntax(_ usage: String) -> SMTPReply { SMTPReply(501, "5.5.4", "Syntax: \(usage)") }
    static func duplicateParameter(_ keyword: String) -> SMTPReply {
        SMTPReply(501, "5.5.4", "Duplicate \(keyword) parameter")
    }
    static func badParameterValue(_ keyword: String) -> SMTPReply {
        SMTPReply(501, "5.5.4", "Bad \(keyword) parameter value")
    }
    static func unknownParameter(_ keyword: String) -> SMTPReply {
        SMTPReply(555, "5.5.4", "Unsupported parameter \(keyword)")
    }
    static func badSequence(_ text: String) -> SMTPReply { SMTPReply(503, "5.5.1", text) }

    /// An HTTP request line: the peer is not an SMTP client.
    static let notSMTP = SMTPReply(421, "4.7.0", "This is an SMTP server, closing connection")

    // MARK: Ordinary answers

    static let ok = SMTPReply(250, "2.0.0", "Ok")
    static let senderOk = SMTPReply(250, "2.1.0", "Sender ok")
    static let recipientOk = SMTPReply(250, "2.1.5", "Recipient ok")
    static let startMailInput = SMTPReply(354, nil, "End data with <CR><LF>.<CR><LF>")
    static let closing = SMTPReply(221, "2.0.0", "Bye")
    static let cannotVerify = SMTPReply(
        252,
        "2.5.0",
        "Cannot VRFY user, but will accept message and attempt delivery"
    )
    /// The commands this server takes; BDAT only when CHUNKING is offered.
    static func help(chunking: Bool) -> SMTPReply {
        let data = chunking ? "DATA BDAT" : "DATA"
        return SMTPReply(
            214,
            "2.0.0",
            "Commands: EHLO HELO STARTTLS AUTH MAIL RCPT \(data) RSET NOOP QUIT VRFY HELP; see RFC 5321"
        )
    }

    // MARK: STARTTLS (RFC 3207)

    static let readyToStartTLS = SMTPReply(220, "2.0.0", "Ready to start TLS")
    static let tlsNotAvailable = SMTPReply(502, "5.5.1", "STARTTLS not available")
    static let mustStartTLS = SMTPReply(530, "5.7.0", "Must issue a STARTTLS command first")

    // MARK: AUTH (RFC 4954 section 6)

    static let authenticationRequired = SMTPReply(530, "5.7.0", "Authentication required")
    static let encryptionRequired = SMTPReply(
        538,
        "5.7.11",
        "Encryption required for requested authentication mechanism"
    )
    static let unrecognizedAuthenticationType = SMTPReply(504, "5.5.4", "Unrecognized authentication type")
    static let cannotDecodeResponse = SMTPReply(501, "5.5.2", "Cannot decode base64 response")
    static let authenticationCancelled = SMTPReply(501, "5.0.0", "Authentication cancelled")
    static let authenticationSucceeded = SMTPReply(235, "2.7.0", "Authentication successful")
    static let authenticationFailed = SMTPReply(535, "5.7.8", "Authentication credentials invalid")
    static let temporaryAuthenticationFailure = SMTPReply(454, "4.7.0", "Temporary authentication failure")
    static let authenticationLineTooLong = SMTPReply(500, "5.5.6", "Authentication exchange line is too long")

    /// `334 <base64>`; an empty challenge is `334 ` with nothing after the space (RFC 4954 section 4).
    static func challenge(_ bytes: [UInt8]) -> SMTPReply { SMTPReply(334, nil, Base64Text.encode(bytes)) }

    // MARK: Envelope and message

    static let tooManyRecipients = SMTPReply(452, "4.5.3", "Too many recipients")
    static let messageTooBig = SMTPReply(552, "5.3.4", "Message size exceeds fixed maximum message size")
    static let dataLineTooLong = SMTPReply(500, "5.5.6", "Line too long: message refused")
    static let bareLineEndingInData = SMTPReply(
        554,
        "5.6.0",
        "Message refused: bare CR or LF in data, lines end with CRLF (RFC 5321 section 2.3.8)"
    )
    /// A NUL octet in DATA or BDAT: no message may hold one, and no BINARYMIME is offered.
    static let nulInData = SMTPReply(
        554,
        "5.6.0",
        "Message refused: NUL octet in data, a message may not hold one (RFC 5322 section 3.5)"
    )
    /// The server's bound on message bytes held across connections is reached: try again later (RFC 3463 4.3.1).
    static let insufficientStorage = SMTPReply(452, "4.3.1", "Insufficient system storage, try again later")
    static let nonASCIIAddressNeedsSMTPUTF8 = SMTPReply(553, "5.6.7", "Non-ASCII address needs SMTPUTF8")
    static let nullSenderNotAllowed = SMTPReply(553, "5.7.1", "Sender address rejected: null sender not allowed")
    static func senderNotOwned(by user: String) -> SMTPReply {
        SMTPReply(553, "5.7.1", "Sender address rejected: not owned by user \(user)")
    }
    /// The answer to a BDAT chunk that is not the last (RFC 3030 section 2).
    static func chunkReceived(_ octets: Int) -> SMTPReply { SMTPReply(250, "2.0.0", "Ok: \(octets) octets received") }
    static func queued(_ id: String) -> SMTPReply { SMTPReply(250, "2.0.0", "Ok: queued as \(id)") }
    static let deliveryFailedTemporarily = SMTPReply(451, "4.3.0", "Message not accepted, try again later")
    static let deliveryFailedPermanently = SMTPReply(554, "5.0.0", "Transaction failed")

    // MARK: Closing the connection (421, RFC 5321 section 3.8)

    static func timeout(host: String) -> SMTPReply { SMTPReply(421, "4.4.2", "\(host) Error: timeout exceeded") }
    static func shuttingDown(host: String) -> SMTPReply {
        SMTPReply(421, "4.3.2", "\(host) Service shutting down")
    }
    static func tooManyAuthenticationFailures(host: String) -> SMTPReply {
        SMTPReply(421, "4.7.0", "\(host) Too many failed authentication attempts")
    }
    static func tooManyErrors(host: String) -> SMTPReply { SMTPReply(421, "4.7.0", "\(host) Too many errors") }
    static func tooManyCommandsBeforeLogin(host: String) -> SMTPReply {
        SMTPReply(421, "4.7.0", "\(host) Too many commands without authentication")
    }
    static func tooManyMessages(host: String) -> SMTPReply {
        SMTPReply(421, "4.7.0", "\(host) Too many messages in one connection")
    }
    static func protocolViolation(host: String) -> SMTPReply {
        SMTPReply(421, "4.3.0", "\(host) Internal error: input arrived while a reply was pending")
    }
}
