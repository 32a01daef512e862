import SASLDB

/// Turns one command line (without its CRLF) into an ``SMTPCommand``, or the reply that refuses it.
///
/// Verbs are case-insensitive. The line must be UTF-8 without NUL or other control characters; bytes beyond ASCII
/// are accepted only inside the path of `MAIL` and `RCPT` (the session then requires SMTPUTF8). Paths follow
/// RFC 5321 section 4.1.2 strictly, except for one leniency every deployed server has: spaces between `FROM:` or
/// `TO:` and the `<`, which old clients send. The parser knows nothing of the session's state, so it never answers
/// 503; the session checks the order of commands.
public enum SMTPCommandParser {
    /// Verbs of RFC 5321 and common extensions that this server knows but does not implement (502, not 500).
    static let unimplementedVerbs: Set<String> = [
        "EXPN", "TURN", "ETRN", "ATRN", "SEND", "SOML", "SAML", "XCLIENT", "XFORWARD",
    ]

    /// Verbs of HTTP: a browser or proxy tricked into talking to the SMTP port; Postfix's `smtpd_forbidden_commands`
    /// closes such connections at once, so that a cross-protocol request cannot go on to issue SMTP commands.
    static let forbiddenVerbs: Set<String> = ["GET", "POST", "PUT", "HEAD", "CONNECT", "OPTIONS", "DELETE"]

    /// Parses `line`.
    ///
    /// - Throws: ``SMTPCommandError`` holding 500 5.5.2 (not a command, NUL, control or 8-bit bytes), 501 (bad
    ///   argument: 5.5.4, or 5.1.7 / 5.1.3 for a bad sender / recipient address), 502 5.5.1 (known, not
    ///   implemented), 555 5.5.4 (unknown MAIL or RCPT parameter), 421 with ``SMTPCommandError/closesConnection``
    ///   for an HTTP request, or 501 5.5.4 with it for a BDAT whose size cannot be read.
    public static func parse(_ line: [UInt8]) throws(SMTPCommandError) -> SMTPCommand {
        guard !line.contains(0) else { throw SMTPCommandError(.nulInCommand) }
        guard !line.contains(where: SMTPSyntax.isControl) else { throw SMTPCommandError(.controlCharacterInCommand) }
        guard isValidUTF8(line) else { throw SMTPCommandError(.eightBitInCommand) }
        var end = line.count
        // Trailing spaces are not in the grammar, but harmless, and some clients send them.
        while end > 0, line[end - 1] == SMTPSyntax.space { end -= 1 }
        let text = Array(line[..<end])
        let verbEnd = text.firstIndex(of: SMTPSyntax.space) ?? text.count
        let verbBytes = text[..<verbEnd]
        guard !verbBytes.isEmpty, verbBytes.allSatisfy(SMTPSyntax.isAlpha) else {
            throw SMTPCommandError(.commandUnrecognized)
        }
        let verb = SMTPSyntax.asciiUppercased(verbBytes)
        var argumentStart = verbEnd
        while argumentStart < text.count, text[argumentStart] == SMTPSyntax.space { argumentStart += 1 }
        let argument = Array(text[argumentStart...])
        if verb != "MAIL", verb != "RCPT", argument.contains(where: SMTPSyntax.isNonASCII) {
            throw SMTPCommandError(.eightBitInCommand)
        }

        switch verb {
        case "EHLO": return .ehlo(try helloArgument(argument, verb: verb))
        case "HELO": return .helo(try helloArgument(argument, verb: verb))
        case "MAIL": return try parseMail(argument)
        case "RCPT": return try parseRcpt(argument)
        case "DATA": return try noArgument(argument, .data)
        case "BDAT": return try parseBDAT(argument)
        case "RSET": return try noArgument(argument, .rset)
        case "QUIT": return try noArgument(argument, .quit)
        case "STARTTLS": return try noArgument(argument, .startTLS)
        case "NOOP": return .noop
        case "HELP": return .help
        case "VRFY":
            guard !argument.isEmpty else { throw SMTPCommandError(.syntax("VRFY address")) }
            return .vrfy(String(decoding: argument, as: UTF8.self))
        case "AUTH": return try parseAuth(argument)
        default:
            if forbiddenVerbs.contains(verb) {
                throw SMTPCommandError(.notSMTP, closesConnection: true)
            }
            if unimplementedVerbs.contains(verb) { throw SMTPCommandError(.commandNotImplemented) }
            throw SMTPCommandError(.commandUnrecognized)
        }
    }

    private static func noArgument(
        _ argument: [UInt8],
        _ command: SMTPCommand
    ) throws(SMTPCommandError)
        -> SMTPCommand
    {
        guard argument.isEmpty else { throw SMTPCommandError(.noParametersAllowed) }
        return command
    }

    /// `Domain / address-literal`, one word.
    private static func helloArgument(_ argument: [UInt8], verb: String) throws(SMTPCommandError) -> String {
        var scanner = SMTPAddressScanner(argument)
        let name =
            argument.first == UInt8(ascii: "[")
            ? scanner.scanAddressLiteral() : scanner.scanDomain(allowUnderscore: true)
        guard let name, scanner.isAtEnd else { throw SMTPCommandError(.syntax("\(verb) hostname")) }
        return name
    }

    /// `"MAIL FROM:" Reverse-path [SP Mail-parameters]`.
    private static func parseMail(_ argument: [UInt8]) throws(SMTPCommandError) -> SMTPCommand {
        var scanner = try pathScanner(argument, keyword: "FROM:", usage: "MAIL FROM:<address>")
        guard let path = scanner.scanPath(allowNull: true, allowPostmaster: false) else {
            throw SMTPCommandError(.badSenderAddress)
        }
        let sender: SMTPMailbox?
        switch path {
        case .null: sender = nil
        case .mailbox(let mailbox): sender = mailbox
        case .postmaster: throw SMTPCommandError(.badSenderAddress)
        }
        let parameters = try parameterList(argument[scanner.index...])
        return .mail(from: sender, parameters: try mailParameters(parameters))
    }

    /// `"RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path ) [SP Rcpt-parameters]`.
    private static func parseRcpt(_ argument: [UInt8]) throws(SMTPCommandError) -> SMTPCommand {
        var scanner = try pathScanner(argument, keyword: "TO:", usage: "RCPT TO:<address>")
        guard let path = scanner.scanPath(allowNull: false, allowPostmaster: true) else {
            throw SMTPCommandError(.badRecipientAddress)
        }
        let parameters = try parameterList(argument[scanner.index...])
        // No RCPT extension (DSN's NOTIFY and ORCPT among them) is advertised, so none is accepted.
        if let first = parameters.first { throw SMTPCommandError(.unknownParameter(first.keyword)) }
        switch path {
        case .null: throw SMTPCommandError(.badRecipientAddress)
        case .postmaster: return .rcpt(to: .postmaster)
        case .mailbox(let mailbox): return .rcpt(to: .mailbox(mailbox))
        }
    }

    /// A scanner placed on the `<` after `keyword` (case-insensitive) and any spaces.
    private static func pathScanner(
        _ argument: [UInt8],
        keyword: String,
        usage: String
    ) throws(SMTPCommandError) -> SMTPAddressScanner {
        let keywordBytes = Array(keyword.utf8)
        guard argument.count > keywordBytes.count,
            SMTPSyntax.equalsIgnoringASCIICase(argument.prefix(keywordBytes.count), keywordBytes)
        else { throw SMTPCommandError(.syntax(usage)) }
        var start = keywordBytes.count
        while start < argument.count, argument[start] == SMTPSyntax.space { start += 1 }
        return SMTPAddressScanner(argument, from: start)
    }

    /// One `esmtp-param`.
    struct Parameter: Equatable {
        var keyword: String
        var value: String?
    }

    /// `esmtp-param *(SP esmtp-param)` after the path: `esmtp-keyword ["=" esmtp-value]`, where the keyword is
    /// `(ALPHA / DIGIT) *(ALPHA / DIGIT / "-")` and the value is printable ASCII without `=`.
    static func parameterList(_ text: ArraySlice<UInt8>) throws(SMTPCommandError) -> [Parameter] {
        guard let first = text.first else { return [] }
        guard first == SMTPSyntax.space else { throw SMTPCommandError(.badParameterSyntax) }
        var parameters: [Parameter] = []
        for word in text.split(separator: SMTPSyntax.space) {
            let equals = word.firstIndex(of: UInt8(ascii: "="))
            let keywordBytes = word[..<(equals ?? word.endIndex)]
            guard let head = keywordBytes.first, SMTPSyntax.isLetterOrDigit(head),
                keywordBytes.allSatisfy({ SMTPSyntax.isLetterOrDigit($0) || $0 == UInt8(ascii: "-") })
            else { throw SMTPCommandError(.badParameterSyntax) }
            var value: String?
            if let equals {
                let valueBytes = word[(equals + 1)...]
                guard !valueBytes.isEmpty,
                    valueBytes.allSatisfy({ (33...126).contains($0) && $0 != UInt8(ascii: "=") })
                else { throw SMTPCommandError(.badParameterSyntax) }
                value = String(decoding: valueBytes, as: UTF8.self)
            }
            let keyword = SMTPSyntax.asciiUppercased(keywordBytes)
            guard !parameters.contains(where: { $0.keyword == keyword }) else {
                throw SMTPCommandError(.duplicateParameter(keyword))
            }
            parameters.append(Parameter(keyword: keyword, value: value))
        }
        return parameters
    }

    /// SIZE (RFC 1870), BODY (RFC 6152), SMTPUTF8 (RFC 6531) and AUTH (RFC 4954); anything else is 555.
    static func mailParameters(_ list: [Parameter]) throws(SMTPCommandError) -> SMTPMailParameters {
        var parameters = SMTPMailParameters()
        for parameter in list {
            switch parameter.keyword {
            case "SIZE":
                // `size-value = 1*20DIGIT`; a value too big for Int is over any limit, so it saturates.
                guard let value = parameter.value, (1...20).contains(value.utf8.count),
                    value.utf8.allSatisfy(SMTPSyntax.isDigit)
                else { throw SMTPCommandError(.badParameterValue("SIZE")) }
                parameters.size = Int(value) ?? Int.max
            case "BODY":
                guard let value = parameter.value,
                    let body = SMTPMailParameters.Body(rawValue: SMTPSyntax.asciiUppercased(value.utf8))
                else { throw SMTPCommandError(.badParameterValue("BODY")) }
                parameters.body = body
            case "SMTPUTF8":
                guard parameter.value == nil else { throw SMTPCommandError(.badParameterValue("SMTPUTF8")) }
                parameters.smtpUTF8 = true
            case "AUTH":
                guard let value = parameter.value else { throw SMTPCommandError(.badParameterValue("AUTH")) }
                parameters.auth = value
            default:
                throw SMTPCommandError(.unknownParameter(parameter.keyword))
            }
        }
        return parameters
    }

    /// `chunk-size [SP "LAST"]` (RFC 3030 section 3), `chunk-size = 1*DIGIT`.
    ///
    /// Any error closes the connection: the octets of the chunk follow the line, and without a size the server cannot
    /// tell where they end, so reading on would take message data for commands.
    private static func parseBDAT(_ argument: [UInt8]) throws(SMTPCommandError) -> SMTPCommand {
        let words = argument.split(separator: SMTPSyntax.space)
        guard (1...2).contains(words.count), words[0].allSatisfy(SMTPSyntax.isDigit),
            let size = Int(String(decoding: words[0], as: UTF8.self)),
            words.count == 1 || SMTPSyntax.equalsIgnoringASCIICase(words[1], Array("LAST".utf8))
        else {
            var error = SMTPCommandError(.syntax("BDAT size [LAST]"), closesConnection: true)
            error.closeReason = "BDAT framing lost"
            throw error
        }
        return .bdat(size: size, isLast: words.count == 2)
    }

    /// `mechanism [SP initial-response]`, the mechanism `1*20(UPPER-ALPHA / DIGIT / "-" / "_")` (RFC 4422 section
    /// 3.1, compared without case in SMTP).
    private static func parseAuth(_ argument: [UInt8]) throws(SMTPCommandError) -> SMTPCommand {
        let words = argument.split(separator: SMTPSyntax.space)
        guard (1...2).contains(words.count) else {
            throw SMTPCommandError(.syntax("AUTH mechanism [initial-response]"))
        }
        let name = words[0]
        guard name.count <= 20,
            name.allSatisfy({ SMTPSyntax.isLetterOrDigit($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") })
        else { throw SMTPCommandError(.syntax("AUTH mechanism [initial-response]")) }
        let initialResponse = words.count == 2 ? String(decoding: words[1], as: UTF8.self) : nil
        return .auth(mechanism: SMTPSyntax.asciiUppercased(name), initialResponse: initialResponse)
    }
}
