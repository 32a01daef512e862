import SASLDB

/// Which users may use which envelope senders, in the spirit of Postfix's `smtpd_sender_login_maps`.
///
/// The text form has one entry per line: a key, then the users who may send as it, separated by commas or spaces:
///
/// ```
/// # address               users
/// sales@example.org       alice@example.org, bob@example.org
/// @example.net            admin@example.org
/// ```
///
/// A key is a mailbox (`local@domain`) or a whole domain (`@domain`). Domains compare without ASCII case; local parts
/// compare exactly (RFC 5321 section 2.4). As in Postfix, the most specific key decides: when a mailbox has its own
/// entry, a `@domain` entry is not consulted for it, so an entry can narrow who uses one address of a domain. `#`
/// starts a comment line; a line that starts with white space continues the entry above it. A user written without
/// `@` takes the default realm, as login names do.
public struct SenderLoginMap: Sendable, Equatable {
    /// Users by normalized key: `local@domain` or `@domain`, the domain lowercased.
    private var entries: [String: [UserID]]

    /// An empty map: no address is granted to anyone beyond their own.
    public init() {
        entries = [:]
    }

    /// Parses the text form.
    ///
    /// - Parameters:
    ///   - text: the map.
    ///   - defaultRealm: the realm of a user written without `@` (`SASLServerContext.defaultRealm`).
    /// - Throws: ``SenderLoginMapError`` naming the first bad line.
    public init(parsing text: String, defaultRealm: String) throws(SenderLoginMapError) {
        self.init()
        var pending: (line: Int, words: [Substring])?
        // Swift reads CRLF as one Character, which `isNewline` matches like LF.
        for (offset, content) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated()
        {
            let trimmed = content.drop { $0 == " " || $0 == "\t" }
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let words = trimmed.split { $0 == " " || $0 == "\t" || $0 == "," }
            if trimmed.startIndex != content.startIndex, var entry = pending {
                entry.words += words
                pending = entry
                continue
            }
            if let entry = pending { try add(entry.words, line: entry.line, defaultRealm: defaultRealm) }
            pending = (offset + 1, words)
        }
        if let entry = pending { try add(entry.words, line: entry.line, defaultRealm: defaultRealm) }
    }

    /// Grants `users` the senders of `key` (`local@domain` or `@domain`), added to any already granted.
    ///
    /// - Throws: ``SenderLoginMapError`` (with line 0) when the key is neither form.
    public mutating func allow(_ users: [UserID], toUse key: String) throws(SenderLoginMapError) {
        guard let normalized = Self.normalizedKey(key) else {
            throw SenderLoginMapError(line: 0, reason: "'\(key)' is neither local@domain nor @domain")
        }
        merge(users, into: normalized)
    }

    /// The users the most specific entry for `sender` names, or `nil` when no entry covers it.
    public func users(for sender: SMTPMailbox) -> [UserID]? {
        let domain = SMTPSyntax.asciiLowercased(sender.domain)
        return entries[sender.unquotedLocalPart + "@" + domain] ?? entries["@" + domain]
    }

    /// Whether the map has no entry.
    public var isEmpty: Bool { entries.isEmpty }

    private mutating func add(_ words: [Substring], line: Int, defaultRealm: String) throws(SenderLoginMapError) {
        guard let key = words.first, words.count >= 2 else {
            throw SenderLoginMapError(line: line, reason: "an entry is an address or @domain followed by users")
        }
        guard let normalized = Self.normalizedKey(String(key)) else {
            throw SenderLoginMapError(line: line, reason: "'\(key)' is neither local@domain nor @domain")
        }
        var users: [UserID] = []
        for word in words.dropFirst() {
            guard let user = try? UserID(parsing: String(word), defaultRealm: defaultRealm) else {
                throw SenderLoginMapError(line: line, reason: "'\(word)' is not a user name (authid@realm)")
            }
            users.append(user)
        }
        merge(users, into: normalized)
    }

    /// Adds `users` to the entry of `key`, each user once.
    private mutating func merge(_ users: [UserID], into key: String) {
        var merged = entries[key] ?? []
        for user in users where !merged.contains(user) { merged.append(user) }
        entries[key] = merged
    }

    /// `local@domain` with the local part unquoted and the domain lowercased, or `@domain` lowercased.
    private static func normalizedKey(_ key: String) -> String? {
        if key.hasPrefix("@") {
            var scanner = SMTPAddressScanner(Array(key.utf8.dropFirst()))
            let domain = scanner.scanDomain()
            guard let domain, scanner.isAtEnd else { return nil }
            return "@" + SMTPSyntax.asciiLowercased(domain)
        }
        guard let mailbox = SMTPMailbox(parsing: key) else { return nil }
        return mailbox.unquotedLocalPart + "@" + SMTPSyntax.asciiLowercased(mailbox.domain)
    }
}
