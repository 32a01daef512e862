#if canImport(Glibc)
import Glibc
#endif

/// One `key = value` setting and where it came from.
struct ConfigurationEntry: Equatable, Sendable {
    /// The key, lowercase.
    var key: String
    /// The value without surrounding white space; continuation lines joined by one space.
    var value: String
    /// The file (or `--set`) it came from.
    var source: String
    /// Its first line, `nil` for a command-line setting.
    var line: Int?
}

/// The configuration file's syntax, close to Postfix's `main.cf`:
///
/// - `key = value` on one line; white space around `=` and at both ends of the value is ignored;
/// - a line whose first non-blank character is `#` is a comment, and so is the rest of a line from a `#` that follows
///   white space (`sink = maildir:/srv/mail  # the spool`);
/// - a line that starts with white space continues the value above it (long `mechanisms` lists);
/// - keys are lowercase letters, digits and `_`; a key given twice is an error, so an edit never hides another.
enum ConfigurationFile {
    /// The largest configuration file read.
    static let maximumSize = 1 << 20

    /// Parses `text`; `source` names it in errors.
    static func parse(_ text: String, source: String) throws(ConfigurationError) -> [ConfigurationEntry] {
        var entries: [ConfigurationEntry] = []
        var seen: [String: Int] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line = line.dropLast() }
            let content = stripComment(line)
            if content.allSatisfy(\.isWhitespace) { continue }
            if let first = content.first, first == " " || first == "\t" {
                guard !entries.isEmpty else {
                    throw ConfigurationError(source: source, line: number, "a continuation line with nothing above it")
                }
                let more = trimmed(content)
                entries[entries.count - 1].value += entries[entries.count - 1].value.isEmpty ? more : " " + more
                continue
            }
            guard let equals = content.firstIndex(of: "=") else {
                throw ConfigurationError(source: source, line: number, "expected key = value")
            }
            let key = trimmed(content[..<equals])
            guard !key.isEmpty, key.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }) else {
                throw ConfigurationError(
                    source: source,
                    line: number,
                    "\"\(key)\" is not a key (lowercase letters, digits and _)"
                )
            }
            if let earlier = seen[key] {
                throw ConfigurationError(source: source, line: number, "\(key) is already set on line \(earlier)")
            }
            seen[key] = number
            entries.append(
                ConfigurationEntry(
                    key: key,
                    value: trimmed(content[content.index(after: equals)...]),
                    source: source,
                    line: number
                )
            )
        }
        return entries
    }

    /// Parses one `key=value` of the command line (`--set`).
    static func parseOverride(_ text: String) throws(ConfigurationError) -> ConfigurationEntry {
        guard let equals = text.firstIndex(of: "=") else {
            throw ConfigurationError("--set \(text): expected key=value")
        }
        let key = trimmed(text[..<equals]).lowercased()
        return ConfigurationEntry(
            key: key,
            value: trimmed(text[text.index(after: equals)...]),
            source: "--set",
            line: nil
        )
    }

    /// Reads a text file of at most ``maximumSize`` bytes.
    static func read(_ path: String) throws(ConfigurationError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw ConfigurationError("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw ConfigurationError("cannot read \(path): \(String(cString: strerror(errno)))")
            }
            bytes += buffer.prefix(count)
            guard bytes.count <= maximumSize else {
                throw ConfigurationError("\(path) is larger than \(maximumSize) bytes")
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigurationError("\(path) is not UTF-8 text")
        }
        return text
    }

    /// The line without a comment: from a `#` at its start (after blanks) or after white space.
    private static func stripComment(_ line: Substring) -> Substring {
        var previousIsSpace = true
        for index in line.indices {
            let character = line[index]
            if character == "#" && previousIsSpace {
                return line[..<index]
            }
            previousIsSpace = character == " " || character == "\t"
        }
        return line
    }

    private static func trimmed(_ text: Substring) -> String {
        String(
            text.drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed()
        )
    }
}
