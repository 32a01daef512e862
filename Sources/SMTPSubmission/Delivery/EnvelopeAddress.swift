/// RFC 5321 syntax checks for envelope addresses that leave the server: as arguments of another program (`sendmail`),
/// as lines of a spool file, or as `MAIL FROM`/`RCPT TO` to a relay.
///
/// The session has parsed the addresses already; this is the sink's own line of defence, because a sink passes them to
/// programs whose option parsers would read `-oQ/tmp` or `-X/tmp/log` as instructions. It accepts a `Mailbox`
/// (RFC 5321 §4.1.2) with RFC 6531's UTF-8 in the local part and the domain, or the bare `postmaster`, and refuses
/// anything that begins with `-`, and any space or control character, even where a quoted local part would allow it.
package enum EnvelopeAddress {
    /// The longest address accepted: a 256-octet path minus its angle brackets (RFC 5321 §4.5.3.1.3).
    package static let maximumLength = 254
    /// The longest local part (RFC 5321 §4.5.3.1.1).
    package static let maximumLocalPartLength = 64

    /// Whether `address` is a mailbox this server hands on; the empty reverse-path `<>` is not (check it apart).
    package static func isValidMailbox(_ address: String) -> Bool {
        let bytes = Array(address.utf8)
        guard !bytes.isEmpty, bytes.count <= maximumLength, bytes[0] != UInt8(ascii: "-") else { return false }
        guard !bytes.contains(where: { $0 <= 0x20 || $0 == 0x7F }) else { return false }
        if address.lowercased() == "postmaster" { return true }
        guard let at = bytes.lastIndex(of: UInt8(ascii: "@")) else { return false }
        let local = bytes[..<at]
        let domain = bytes[(at + 1)...]
        guard local.count <= maximumLocalPartLength else { return false }
        return isValidLocalPart(local) && isValidDomain(domain)
    }

    /// Checks a recipient list and a sender (empty for `<>`), throwing ``MessageSinkError/permanent(reason:)`` for
    /// the first address that is refused.
    package static func validate(sender: String, recipients: [String]) throws(MessageSinkError) {
        if !sender.isEmpty && !isValidMailbox(sender) {
            throw .permanent(reason: "refused sender address \(printable(sender))")
        }
        guard !recipients.isEmpty else { throw .permanent(reason: "no recipients") }
        for recipient in recipients where !isValidMailbox(recipient) {
            throw .permanent(reason: "refused recipient address \(printable(recipient))")
        }
    }

    /// Checks addresses for a protocol line (`MAIL FROM:<...>` to a relay), where only what could end the line or the
    /// path matters: refuses control characters and an empty recipient list, and an address with `<` or `>` outside
    /// a quoted local part. Spaces inside a quoted local part (`"john smith"@example.org`) pass.
    package static func validateForProtocol(sender: String, recipients: [String]) throws(MessageSinkError) {
        guard !recipients.isEmpty else { throw .permanent(reason: "no recipients") }
        for address in [sender] + recipients {
            let bytes = Array(address.utf8)
            let controls = bytes.contains { $0 < 0x20 || $0 == 0x7F }
            let unquoted =
                bytes.first == UInt8(ascii: "\"")
                ? bytes[(bytes.lastIndex(of: UInt8(ascii: "\"")) ?? 0)...] : bytes[...]
            let brackets = unquoted.contains { $0 == UInt8(ascii: "<") || $0 == UInt8(ascii: ">") }
            guard !controls && !brackets && bytes.count <= maximumLength else {
                throw .permanent(reason: "refused address \(printable(address))")
            }
        }
        for recipient in recipients where recipient.isEmpty {
            throw .permanent(reason: "an empty recipient")
        }
    }

    /// The address for a log line: control characters shown as `?`, cut at 80 characters.
    package static func printable(_ address: String) -> String {
        let cleaned = String(address.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) })
        return cleaned.count > 80 ? String(cleaned.prefix(80)) + "..." : cleaned
    }

    // MARK: - Grammar

    /// `Dot-string / Quoted-string`.
    private static func isValidLocalPart(_ local: ArraySlice<UInt8>) -> Bool {
        guard let first = local.first else { return false }
        if first == UInt8(ascii: "\"") { return isValidQuotedString(local) }
        var atomLength = 0
        for byte in local {
            if byte == UInt8(ascii: ".") {
                guard atomLength > 0 else { return false }
                atomLength = 0
            } else if isAtext(byte) {
                atomLength += 1
            } else {
                return false
            }
        }
        return atomLength > 0
    }

    /// `DQUOTE *QcontentSMTP DQUOTE`, without the space that qtextSMTP would allow.
    private static func isValidQuotedString(_ local: ArraySlice<UInt8>) -> Bool {
        guard local.count >= 2, local.last == UInt8(ascii: "\"") else { return false }
        let inner = local.dropFirst().dropLast()
        var escaped = false
        for byte in inner {
            if escaped {
                guard byte >= 0x20 && byte <= 0x7E else { return false }
                escaped = false
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            } else if byte == UInt8(ascii: "\"") {
                return false
            } else if !(byte >= 0x21 && byte <= 0x7E) && byte < 0x80 {
                return false
            }
        }
        return !escaped
    }

    /// RFC 5322 `atext`, plus the UTF-8 bytes of RFC 6531.
    private static func isAtext(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case 0x80...0xFF:
            return true
        default:
            return Array("!#$%&'*+-/=?^_`{|}~".utf8).contains(byte)
        }
    }

    /// `Domain / address-literal`.
    private static func isValidDomain(_ domain: ArraySlice<UInt8>) -> Bool {
        guard let first = domain.first, domain.count <= 255 else { return false }
        if first == UInt8(ascii: "[") { return isValidAddressLiteral(domain) }
        var label: [UInt8] = []
        for byte in domain {
            if byte == UInt8(ascii: ".") {
                guard isValidLabel(label) else { return false }
                label = []
            } else {
                label.append(byte)
            }
        }
        return isValidLabel(label)
    }

    /// `Let-dig [Ldh-str]`, at most 63 octets, or a U-label (any UTF-8 with the same hyphen rules).
    private static func isValidLabel(_ label: [UInt8]) -> Bool {
        guard let first = label.first, let last = label.last, label.count <= 63 else { return false }
        guard first != UInt8(ascii: "-"), last != UInt8(ascii: "-") else { return false }
        return label.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), 0x80...0xFF:
                return true
            default:
                return false
            }
        }
    }

    /// `"[" ( IPv4-address-literal / IPv6-address-literal ) "]"`; general literals are refused.
    private static func isValidAddressLiteral(_ literal: ArraySlice<UInt8>) -> Bool {
        guard literal.count >= 3, literal.last == UInt8(ascii: "]") else { return false }
        let inner = String(decoding: literal.dropFirst().dropLast(), as: UTF8.self)
        if inner.hasPrefix("IPv6:") {
            let address = inner.dropFirst(5)
            return !address.isEmpty && address.count <= 45
                && address.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
                && address.contains(":")
        }
        let parts = inner.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4
            && parts.allSatisfy { part in
                guard (1...3).contains(part.count), part.allSatisfy({ $0.isASCII && $0.isNumber }),
                    let value = Int(part)
                else {
                    return false
                }
                return value <= 255
            }
    }
}
