/// A strict parser of RFC 2831's directive lists: `name=value` or `name="quoted value"` elements separated by commas.
///
/// The grammar is RFC 2831 §7.1 (which borrows the `#rule`, `token` and `quoted-string` of RFC 2616 §2):
/// - elements are separated by commas; empty elements (`a=1,,b=2`, a leading or trailing comma) are allowed;
/// - linear white space — spaces, tabs, and a CRLF followed by a space or tab — may surround names, `=`, values and
///   commas; a bare CR or LF anywhere else is refused;
/// - a name is a token and is matched case-insensitively (it is stored lowercased);
/// - a value is a non-empty token or a quoted string, whichever the client chose: several clients quote directives the
///   RFC writes bare (`qop="auth"`) and Cyrus accepts both, so the form is not enforced per directive;
/// - in a quoted string `\` escapes the next character, which must be US-ASCII (RFC 2616's quoted-pair); control
///   characters (NUL, CR, LF, DEL and the others, except tab) are refused even when escaped, because no identity or
///   nonce may contain one and line folding inside a value would make its meaning ambiguous;
/// - a directive listed as known may appear only once unless it is also listed as repeatable (only `realm` in a
///   digest-challenge is); unknown directives are syntax-checked and counted, then ignored, as RFC 2831's auth-param
///   rule asks, and may repeat because an auth-param may appear more than once.
///
/// Bounds: the whole list at most ``maximumLength`` bytes (RFC 2831: a digest-response MUST be shorter than 4096
/// bytes), at most ``maximumCount`` directives, known or not. Every value is therefore shorter than ``maximumLength``;
/// the mechanism applies tighter bounds to the values it uses.
struct DigestDirectives: Sendable, Equatable {
    /// One parsed directive.
    struct Directive: Sendable, Equatable {
        /// The name, lowercased.
        var name: String
        /// The value, with quotes and escapes removed.
        var value: [UInt8]
        /// Whether the client sent the value as a quoted string.
        var wasQuoted: Bool
    }

    /// The longest list accepted: RFC 2831 requires a digest-response to be less than 4096 bytes.
    static let maximumLength = 4095
    /// The most directives accepted; a real digest-response has about a dozen.
    static let maximumCount = 32

    /// The known directives, in the order they were sent.
    private(set) var directives: [Directive] = []
    /// The names of the unknown directives that were ignored, in the order they were sent (for the log).
    private(set) var ignoredNames: [String] = []

    /// Parses `input`.
    ///
    /// - Parameters:
    ///   - known: the lowercase names the caller understands; others are ignored.
    ///   - repeatable: the known names that may appear more than once.
    ///   - maximumLength: the longest input accepted, in bytes.
    ///   - maximumCount: the most directives accepted.
    /// - Throws: ``SASLFailure/tooLong(limit:)`` for input longer than `maximumLength`, otherwise
    ///   ``SASLFailure/malformed(reason:)`` naming the rule broken.
    init(
        parsing input: [UInt8],
        known: Set<String>,
        repeatable: Set<String> = [],
        maximumLength: Int = DigestDirectives.maximumLength,
        maximumCount: Int = DigestDirectives.maximumCount
    ) throws(SASLFailure) {
        guard input.count <= maximumLength else { throw .tooLong(limit: maximumLength) }
        var scanner = Scanner(bytes: input)
        var seen: Set<String> = []
        var count = 0
        while true {
            try scanner.skipWhiteSpace()
            guard let byte = scanner.peek() else { break }
            if byte == UInt8(ascii: ",") {
                // An empty list element, which RFC 2616's #rule allows.
                scanner.advance()
                continue
            }
            let directive = try scanner.directive()
            count += 1
            guard count <= maximumCount else {
                throw .malformed(reason: "more than \(maximumCount) directives")
            }
            if known.contains(directive.name) {
                guard !seen.contains(directive.name) || repeatable.contains(directive.name) else {
                    throw .malformed(reason: "the directive '\(directive.name)' appears more than once")
                }
                seen.insert(directive.name)
                directives.append(directive)
            } else {
                ignoredNames.append(directive.name)
            }
            try scanner.skipWhiteSpace()
            guard let separator = scanner.peek() else { break }
            guard separator == UInt8(ascii: ",") else {
                throw .malformed(
                    reason: "expected ',' after the directive '\(directive.name)', found \(describe(separator))"
                )
            }
            scanner.advance()
        }
    }

    /// The value of the first directive called `name` (lowercase), or `nil` when it is absent.
    subscript(name: String) -> [UInt8]? {
        directives.first { $0.name == name }?.value
    }

    /// The values of every directive called `name` (lowercase), in order.
    func values(of name: String) -> [[UInt8]] {
        directives.filter { $0.name == name }.map(\.value)
    }

    /// Whether a directive called `name` (lowercase) is present.
    func contains(_ name: String) -> Bool {
        directives.contains { $0.name == name }
    }
}

/// Reads one directive list, byte by byte; every method throws on the first rule broken.
private struct Scanner {
    let bytes: [UInt8]
    var index = 0

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    func peek(offset: Int = 0) -> UInt8? {
        index + offset < bytes.count ? bytes[index + offset] : nil
    }

    mutating func advance() {
        index += 1
    }

    /// Skips RFC 2616 LWS: `[CRLF] 1*(SP | HT)`, repeated.
    mutating func skipWhiteSpace() throws(SASLFailure) {
        while let byte = peek() {
            if byte == space || byte == tab {
                advance()
            } else if byte == carriageReturn, peek(offset: 1) == lineFeed,
                let next = peek(offset: 2), next == space || next == tab
            {
                index += 3
            } else {
                return
            }
        }
    }

    /// Reads `name LWS "=" LWS value`.
    mutating func directive() throws(SASLFailure) -> DigestDirectives.Directive {
        let nameStart = index
        let nameBytes = token()
        guard !nameBytes.isEmpty else {
            throw .malformed(reason: "expected a directive name at offset \(nameStart), found \(describe(peek()))")
        }
        let name = String(decoding: nameBytes.map(lowercased), as: UTF8.self)
        try skipWhiteSpace()
        guard peek() == UInt8(ascii: "=") else {
            throw .malformed(reason: "the directive '\(name)' has no '=' (found \(describe(peek())))")
        }
        advance()
        try skipWhiteSpace()
        if peek() == quote {
            advance()
            return DigestDirectives.Directive(name: name, value: try quotedString(of: name), wasQuoted: true)
        }
        let value = token()
        guard !value.isEmpty else {
            throw .malformed(reason: "the directive '\(name)' has no value (found \(describe(peek())))")
        }
        return DigestDirectives.Directive(name: name, value: value, wasQuoted: false)
    }

    /// Reads a possibly empty run of token characters.
    mutating func token() -> [UInt8] {
        let start = index
        while let byte = peek(), isTokenCharacter(byte) { advance() }
        return Array(bytes[start..<index])
    }

    /// Reads the rest of a quoted string whose opening quote is consumed, returning it unescaped.
    mutating func quotedString(of name: String) throws(SASLFailure) -> [UInt8] {
        var value: [UInt8] = []
        while let byte = peek() {
            advance()
            switch byte {
            case quote:
                return value
            case backslash:
                guard let escaped = peek() else { break }
                // RFC 2616's quoted-pair is "\" CHAR: US-ASCII only; control characters are refused as in qdtext.
                guard escaped < 0x80, !isControl(escaped) else {
                    throw .malformed(reason: "the value of '\(name)' escapes \(describe(escaped))")
                }
                advance()
                value.append(escaped)
            default:
                guard !isControl(byte) else {
                    throw .malformed(reason: "the value of '\(name)' contains \(describe(byte))")
                }
                value.append(byte)
            }
        }
        throw .malformed(reason: "the quoted value of '\(name)' is not terminated")
    }
}

private let space = UInt8(ascii: " ")
private let tab = UInt8(ascii: "\t")
private let carriageReturn = UInt8(ascii: "\r")
private let lineFeed = UInt8(ascii: "\n")
private let quote = UInt8(ascii: "\"")
private let backslash = UInt8(ascii: "\\")

/// RFC 2616 separators, which a token cannot contain.
private let separators = Set("()<>@,;:\\\"/[]?={} \t".utf8)

/// A CTL other than HT, which is allowed inside quoted strings as linear white space.
private func isControl(_ byte: UInt8) -> Bool {
    (byte < 0x20 && byte != tab) || byte == 0x7f
}

/// RFC 2616 token character: US-ASCII, not a control character, not a separator.
private func isTokenCharacter(_ byte: UInt8) -> Bool {
    byte > 0x20 && byte < 0x7f && !separators.contains(byte)
}

private func lowercased(_ byte: UInt8) -> UInt8 {
    (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 0x20 : byte
}

/// Names a byte for an error message without echoing control characters or non-ASCII into the log.
private func describe(_ byte: UInt8?) -> String {
    guard let byte else { return "the end of the input" }
    if byte > 0x20 && byte < 0x7f { return "'\(Character(Unicode.Scalar(byte)))'" }
    let hex = Array("0123456789ABCDEF")
    return "byte 0x\(hex[Int(byte >> 4)])\(hex[Int(byte & 0x0f)])"
}
