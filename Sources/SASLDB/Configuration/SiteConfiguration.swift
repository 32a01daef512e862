#if canImport(Glibc)
import Glibc
#endif

/// The site's configuration file, `key: value` lines in the syntax of Cyrus's own `<appname>.conf` files
/// (`/etc/sasl2/sasldb.conf` by default), as read by every entry point.
///
/// The library parses text the executable read: it never opens a configuration file by itself. Parsing is strict: a
/// line that is not `key: value`, a key given twice or a key no program reads is an error naming the file and line,
/// so one typo cannot silently turn a setting off.
public struct SiteConfiguration: Sendable, Equatable {
    /// One setting as written.
    public struct Entry: Sendable, Equatable {
        /// The value, without surrounding blanks; may be empty.
        public var value: String
        /// The line it was read from, from 1.
        public var line: Int
    }

    /// The default location of the site file.
    public static let defaultPath = "/etc/sasl2/sasldb.conf"

    /// The file the settings came from, for messages; `nil` when there was no file.
    public let source: String?
    /// The settings, keys lowercased.
    public let entries: [String: Entry]

    /// No file: every setting at its default.
    public init() {
        source = nil
        entries = [:]
    }

    /// Parses `text`, read from `source`.
    ///
    /// - Parameter knownKeys: every key some program reads besides the store's own (``StoreSetting``); any other key is
    ///   refused.
    /// - Throws: ``SiteConfigurationError`` naming the line that is not `key: value`, repeats a key or names an unknown
    ///   one.
    public init(parsing text: [UInt8], source: String, knownKeys: Set<String>) throws(SiteConfigurationError) {
        let lines = try Self.parseLines(text, source: source)
        var entries: [String: Entry] = [:]
        let allowed = knownKeys.union(StoreSetting.allCases.flatMap(\.siteKeys))
        for (key, entry) in lines {
            guard allowed.contains(key) else {
                let known = allowed.sorted().joined(separator: ", ")
                throw SiteConfigurationError(source: source, line: entry.line, "unknown key \(key) (known: \(known))")
            }
            if let earlier = entries[key] {
                throw SiteConfigurationError(
                    source: source,
                    line: entry.line,
                    "\(key) is set again (first on line \(earlier.line))"
                )
            }
            entries[key] = entry
        }
        self.source = source
        self.entries = entries
    }

    /// Reads and parses the file at `path`; a missing file is an empty configuration (every setting at its default).
    ///
    /// - Throws: ``SiteConfigurationError`` for a file that cannot be read or parsed (see
    ///   ``init(parsing:source:knownKeys:)``).
    public init(contentsOf path: String, knownKeys: Set<String>) throws(SiteConfigurationError) {
        let text: [UInt8]
        do {
            text = try InputFile.read(path)
        } catch SASLDBError.io(_, "open", ENOENT) {
            self.init()
            return
        } catch {
            throw SiteConfigurationError(source: path, line: nil, "cannot be read: \(error)")
        }
        try self.init(parsing: text, source: path, knownKeys: knownKeys)
    }

    /// The value of `key` when set and not empty.
    public subscript(key: String) -> String? {
        guard let value = entries[key]?.value, !value.isEmpty else { return nil }
        return value
    }

    /// Where `key` was set, `file:line`, for messages and reports.
    public func origin(of key: String) -> String? {
        guard let line = entries[key]?.line, let source else { return nil }
        return "\(source):\(line)"
    }

    /// An error about the value of `key`, naming its line.
    func error(_ key: String, _ message: String) -> SiteConfigurationError {
        SiteConfigurationError(source: source ?? Self.defaultPath, line: entries[key]?.line, "\(key): \(message)")
    }

    /// Whether `key` is on in libsasl2's sense (its value starts with 1, y, t or "on").
    ///
    /// - Throws: ``SiteConfigurationError`` when the value is neither on nor off (0, n, f, "off"), so `no_plaintext:
    ///   ys` is refused instead of read as off.
    public func flag(_ key: String) throws(SiteConfigurationError) -> Bool? {
        guard let value = self[key]?.lowercased() else { return nil }
        if Self.isOn(value) { return true }
        if value.hasPrefix("0") || value.hasPrefix("n") || value.hasPrefix("f") || value.hasPrefix("off") {
            return false
        }
        throw error(key, "expected yes or no, not \(value)")
    }

    /// libsasl2's reading of a boolean option: on when it starts with 1, y, t or "on".
    public static func isOn(_ value: String) -> Bool {
        let value = value.lowercased()
        return value.hasPrefix("1") || value.hasPrefix("y") || value.hasPrefix("t") || value.hasPrefix("on")
    }

    /// The `key: value` lines of `text` in order (keys lowercased); `#` lines and blank lines are skipped. Cyrus's
    /// own `<appname>.conf` files are parsed by this too.
    ///
    /// - Throws: ``SiteConfigurationError`` naming the first line that is not `key: value`.
    public static func parseLines(
        _ text: [UInt8],
        source: String
    ) throws(SiteConfigurationError) -> [(key: String, entry: Entry)] {
        var result: [(key: String, entry: Entry)] = []
        var number = 0
        for rawLine in text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            number += 1
            guard let line = String(validating: rawLine, as: UTF8.self) else {
                throw SiteConfigurationError(source: source, line: number, "the line is not UTF-8 text")
            }
            let trimmed = line.trimmingBlanks()
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            guard let colon = trimmed.firstIndex(of: ":") else {
                throw SiteConfigurationError(source: source, line: number, "expected key: value, found \(trimmed)")
            }
            let key = trimmed[..<colon].trimmingBlanks().lowercased()
            guard !key.isEmpty, !key.contains(" "), !key.contains("\t") else {
                throw SiteConfigurationError(source: source, line: number, "expected key: value, found \(trimmed)")
            }
            let value = trimmed[trimmed.index(after: colon)...].trimmingBlanks()
            result.append((key, Entry(value: value, line: number)))
        }
        return result
    }
}

extension StringProtocol {
    /// The text without leading and trailing blanks (space, tab, CR).
    func trimmingBlanks() -> String {
        let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        let dropped = drop(while: isBlank)
        return String(dropped.reversed().drop(while: isBlank).reversed())
    }
}
