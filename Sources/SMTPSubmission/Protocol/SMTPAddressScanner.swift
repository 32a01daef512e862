/// Reads RFC 5321 paths and mailboxes from a command line, byte by byte, with the grammar of section 4.1.2 and the
/// UTF-8 extensions of RFC 6531 (which the session allows only when the client declared SMTPUTF8).
///
/// The caller has already checked that the line is valid UTF-8 without control characters. Every method either
/// consumes what it recognised and returns it, or returns `nil`; after a `nil` the scanner's position is unspecified.
struct SMTPAddressScanner {
    /// What a path held.
    enum Path: Equatable {
        /// `<>`.
        case null
        /// `<Postmaster>` without a domain.
        case postmaster
        /// `<mailbox>`, any source route dropped as RFC 5321 section 4.1.1.3 asks.
        case mailbox(SMTPMailbox)
    }

    /// The longest path, brackets included (RFC 5321 section 4.5.3.1.3); bounds the work a hostile line can cause.
    static let maximumPathLength = 256

    private let bytes: [UInt8]
    private(set) var index: Int

    init(_ bytes: [UInt8], from index: Int = 0) {
        self.bytes = bytes
        self.index = index
    }

    var isAtEnd: Bool { index >= bytes.count }

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func consume(_ byte: UInt8) -> Bool {
        guard current == byte else { return false }
        index += 1
        return true
    }

    /// `"<" [ A-d-l ":" ] Mailbox ">"`, or `<>` when `allowNull`, or `<Postmaster>` when `allowPostmaster`.
    mutating func scanPath(allowNull: Bool, allowPostmaster: Bool) -> Path? {
        let start = index
        guard consume(UInt8(ascii: "<")) else { return nil }
        if consume(UInt8(ascii: ">")) { return allowNull ? .null : nil }
        if allowPostmaster, let end = postmasterEnd() {
            index = end
            return .postmaster
        }
        if current == UInt8(ascii: "@") {
            guard scanSourceRoute() else { return nil }
        }
        guard let mailbox = scanMailbox(), consume(UInt8(ascii: ">")) else { return nil }
        guard index - start <= Self.maximumPathLength else { return nil }
        return .mailbox(mailbox)
    }

    /// `Mailbox = Local-part "@" ( Domain / address-literal )`.
    mutating func scanMailbox() -> SMTPMailbox? {
        guard let localPart = scanLocalPart(), consume(UInt8(ascii: "@")) else { return nil }
        let domain: String
        if current == UInt8(ascii: "[") {
            guard let literal = scanAddressLiteral() else { return nil }
            domain = literal
        } else {
            guard let name = scanDomain() else { return nil }
            domain = name
        }
        return SMTPMailbox(localPart: SMTPMailbox.canonicalLocalPart(localPart), domain: domain)
    }

    /// `Domain = sub-domain *("." sub-domain)`, each `sub-domain = Let-dig [Ldh-str]` of at most 63 bytes, the
    /// whole at most 255; UTF-8 bytes are accepted as letters (U-labels, RFC 6531).
    ///
    /// - Parameter allowUnderscore: accept `_` inside labels, which is not in the grammar but is in the host names
    ///   Windows machines announce in EHLO.
    mutating func scanDomain(allowUnderscore: Bool = false) -> String? {
        let start = index
        while true {
            let labelStart = index
            guard let first = current, SMTPSyntax.isLetterOrDigit(first) || SMTPSyntax.isNonASCII(first) else {
                return nil
            }
            index += 1
            while let byte = current,
                SMTPSyntax.isLetterOrDigit(byte) || SMTPSyntax.isNonASCII(byte) || byte == UInt8(ascii: "-")
                    || (allowUnderscore && byte == UInt8(ascii: "_"))
            {
                index += 1
            }
            guard bytes[index - 1] != UInt8(ascii: "-"), index - labelStart <= 63 else { return nil }
            guard consume(UInt8(ascii: ".")) else { break }
        }
        guard index - start <= 255 else { return nil }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    /// `address-literal = "[" ( IPv4-address-literal / IPv6-address-literal ) "]"`, returned with its brackets.
    /// General address literals are refused: no standardised tag other than `IPv6` exists.
    mutating func scanAddressLiteral() -> String? {
        let start = index
        guard consume(UInt8(ascii: "[")) else { return nil }
        guard let close = bytes[index...].firstIndex(of: UInt8(ascii: "]")) else { return nil }
        let content = bytes[index..<close]
        let tag = Array("IPv6:".utf8)
        let valid: Bool
        if content.count > tag.count, SMTPSyntax.equalsIgnoringASCIICase(content.prefix(tag.count), tag) {
            valid = AddressLiteralSyntax.isIPv6(content.dropFirst(tag.count))
        } else {
            valid = AddressLiteralSyntax.isIPv4(content)
        }
        guard valid else { return nil }
        index = close + 1
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    /// `Local-part = Dot-string / Quoted-string`; returns the unquoted content.
    private mutating func scanLocalPart() -> [UInt8]? {
        if current == UInt8(ascii: "\"") { return scanQuotedString() }
        let start = index
        while let byte = current, SMTPSyntax.isAtext(byte) || SMTPSyntax.isNonASCII(byte) || byte == UInt8(ascii: ".") {
            index += 1
        }
        let content = Array(bytes[start..<index])
        return SMTPMailbox.isDotString(content) ? content : nil
    }

    /// `Quoted-string = DQUOTE *QcontentSMTP DQUOTE`, where `quoted-pairSMTP = "\" %d32-126`.
    private mutating func scanQuotedString() -> [UInt8]? {
        guard consume(UInt8(ascii: "\"")) else { return nil }
        var content: [UInt8] = []
        while let byte = current {
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return content
            case UInt8(ascii: "\\"):
                guard let escaped = current, (32...126).contains(escaped) else { return nil }
                index += 1
                content.append(escaped)
            default:
                guard SMTPSyntax.isQtext(byte) || SMTPSyntax.isNonASCII(byte) else { return nil }
                content.append(byte)
            }
        }
        return nil
    }

    /// `A-d-l = At-domain *( "," At-domain ) ":"`; the route is read and forgotten.
    private mutating func scanSourceRoute() -> Bool {
        repeat {
            guard consume(UInt8(ascii: "@")), scanDomain() != nil else { return false }
        } while consume(UInt8(ascii: ","))
        return consume(UInt8(ascii: ":"))
    }

    /// Where `Postmaster>` ends when it starts here (any case), else `nil`.
    private func postmasterEnd() -> Int? {
        let word = Array("postmaster>".utf8)
        let end = index + word.count
        guard end <= bytes.count, SMTPSyntax.equalsIgnoringASCIICase(bytes[index..<end], word) else { return nil }
        return end
    }
}
