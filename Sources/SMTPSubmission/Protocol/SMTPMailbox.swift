import SASLDB

/// A mailbox of RFC 5321 (`Local-part "@" ( Domain / address-literal )`), in canonical form.
///
/// The local part keeps its case (RFC 5321 section 2.4 makes it case-sensitive) and is stored as a dot-string
/// whenever it can be one, quoted otherwise, so `"alice"@example.org` and `alice@example.org` are the same value.
/// The domain is kept as written; compare it with ``hasDomain(_:)``, which ignores ASCII case.
public struct SMTPMailbox: Sendable, Hashable, CustomStringConvertible {
    /// The local part as it goes on the wire: a dot-string, or a quoted string with its quotes.
    public var localPart: String
    /// The domain, or an address literal with its brackets (`[192.0.2.1]`, `[IPv6:2001:db8::1]`).
    public var domain: String

    /// Creates a mailbox from parts that are already valid; use ``init(parsing:)`` for text from outside.
    public init(localPart: String, domain: String) {
        self.localPart = localPart
        self.domain = domain
    }

    /// Parses `local@domain` (no angle brackets) with the syntax `MAIL FROM` accepts, UTF-8 included; `nil` when
    /// the text is not a mailbox.
    public init?(parsing text: String) {
        let bytes = Array(text.utf8)
        guard isValidUTF8(bytes), !bytes.contains(where: SMTPSyntax.isControl) else { return nil }
        var scanner = SMTPAddressScanner(bytes)
        guard let mailbox = scanner.scanMailbox(), scanner.isAtEnd else { return nil }
        self = mailbox
    }

    /// `localPart@domain`.
    public var description: String { localPart + "@" + domain }

    /// Whether the mailbox is all ASCII; anything else needs the SMTPUTF8 extension (RFC 6531).
    public var isASCII: Bool { description.utf8.allSatisfy { $0 < 0x80 } }

    /// The local part without quoting: what a user name is compared with.
    public var unquotedLocalPart: String {
        let bytes = Array(localPart.utf8)
        guard bytes.first == UInt8(ascii: "\""), bytes.count >= 2 else { return localPart }
        var content: [UInt8] = []
        var escaped = false
        for byte in bytes.dropFirst().dropLast() {
            if !escaped, byte == UInt8(ascii: "\\") {
                escaped = true
                continue
            }
            escaped = false
            content.append(byte)
        }
        return String(decoding: content, as: UTF8.self)
    }

    /// Whether the mailbox's domain is `domain`, ignoring ASCII case (domain names are case-insensitive).
    public func hasDomain(_ domain: String) -> Bool {
        SMTPSyntax.equalsIgnoringASCIICase(self.domain.utf8, domain.utf8)
    }

    /// The local part in canonical form for `content` (the unquoted bytes): a dot-string when it is one, else a
    /// quoted string that escapes only `"` and `\`.
    static func canonicalLocalPart(_ content: [UInt8]) -> String {
        if isDotString(content) { return String(decoding: content, as: UTF8.self) }
        var quoted: [UInt8] = [UInt8(ascii: "\"")]
        for byte in content {
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { quoted.append(UInt8(ascii: "\\")) }
            quoted.append(byte)
        }
        quoted.append(UInt8(ascii: "\""))
        return String(decoding: quoted, as: UTF8.self)
    }

    /// `Dot-string = Atom *("." Atom)`, with UTF-8 allowed in atoms (RFC 6531).
    static func isDotString(_ content: [UInt8]) -> Bool {
        guard !content.isEmpty else { return false }
        return content.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).allSatisfy { atom in
            !atom.isEmpty && atom.allSatisfy { SMTPSyntax.isAtext($0) || SMTPSyntax.isNonASCII($0) }
        }
    }
}
