/// Byte classes of the RFC 5321 grammar, on raw bytes so that no `String` is built before a line is known to be valid.
enum SMTPSyntax {
    static let space = UInt8(ascii: " ")
    static let carriageReturn: UInt8 = 13
    static let lineFeed: UInt8 = 10

    static func isAlpha(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    static func isDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    static func isHexDigit(_ byte: UInt8) -> Bool {
        isDigit(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
    }

    /// `Let-dig`: a letter or a digit.
    static func isLetterOrDigit(_ byte: UInt8) -> Bool {
        isAlpha(byte) || isDigit(byte)
    }

    /// A byte of a UTF-8 sequence beyond ASCII; the whole line was checked to be valid UTF-8 before any of these is
    /// accepted, and the scanners stop only at ASCII bytes, so such runs are always whole scalars.
    static func isNonASCII(_ byte: UInt8) -> Bool {
        byte >= 0x80
    }

    /// `atext` of RFC 5322: letters, digits and ``!#$%&'*+-/=?^_`{|}~``.
    static func isAtext(_ byte: UInt8) -> Bool {
        if isLetterOrDigit(byte) { return true }
        switch byte {
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "/"),
            UInt8(ascii: "="), UInt8(ascii: "?"), UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"),
            UInt8(ascii: "{"), UInt8(ascii: "|"), UInt8(ascii: "}"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// `qtextSMTP`: printable ASCII and space, except `"` and `\`.
    static func isQtext(_ byte: UInt8) -> Bool {
        (32...126).contains(byte) && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\")
    }

    /// A control character (C0 or DEL), which no command may contain.
    static func isControl(_ byte: UInt8) -> Bool {
        byte < 32 || byte == 127
    }

    static func lowercased(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
    }

    /// The text with ASCII letters lowercased; other bytes (U-labels included) are kept as they are.
    static func asciiLowercased(_ text: String) -> String {
        String(decoding: text.utf8.map(lowercased), as: UTF8.self)
    }

    /// The text with ASCII letters uppercased.
    static func asciiUppercased(_ bytes: some Sequence<UInt8>) -> String {
        String(
            decoding: bytes.map { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) ? $0 - 32 : $0 },
            as: UTF8.self
        )
    }

    /// Whether two texts are equal when ASCII letters are compared without case.
    static func equalsIgnoringASCIICase(_ lhs: some Collection<UInt8>, _ rhs: some Collection<UInt8>) -> Bool {
        lhs.count == rhs.count && zip(lhs, rhs).allSatisfy { lowercased($0) == lowercased($1) }
    }
}
