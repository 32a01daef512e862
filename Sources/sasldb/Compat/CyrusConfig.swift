import SASLDB

#if canImport(Glibc)
import Glibc
#endif

/// The `<appname>.conf` file Cyrus's saslpasswd2 reads (`key: value` lines), found as libsasl2 finds it.
struct CyrusConfig {
    /// The options, keys lowercased.
    private(set) var values: [String: String] = [:]

    /// The directories libsasl2 searches on Debian when `SASL_CONF_PATH` is not set.
    static let defaultSearchPath = "/etc/sasl2:/etc/sasl:/usr/lib/x86_64-linux-gnu/sasl2:/usr/lib/sasl2"

    /// A line that is neither a comment, blank, nor `key: value`.
    struct ParseError: Error {}

    /// Reads the first existing `<appname>.conf` along the search path; an empty configuration when there is none.
    ///
    /// `SASL_CONF_PATH` is honoured only when the real and effective ids match, as libsasl2 does, so a setuid wrapper
    /// cannot be pointed at another configuration.
    static func load(appName: String) throws(ParseError) -> CyrusConfig {
        var searchPath = defaultSearchPath
        if getuid() == geteuid(), getgid() == getegid(), let custom = Host.environment("SASL_CONF_PATH") {
            searchPath = custom
        }
        for directory in searchPath.split(separator: ":") {
            let path = directory + "/" + appName + ".conf"
            guard let text = try? InputFile.read(path) else { continue }
            return try CyrusConfig(parsing: text)
        }
        return CyrusConfig()
    }

    init() {}

    /// Parses `key: value` lines; `#` lines and blank lines are skipped.
    init(parsing text: [UInt8]) throws(ParseError) {
        for rawLine in text.split(separator: UInt8(ascii: "\n")) {
            let line = String(decoding: rawLine, as: UTF8.self)
            let trimmed = line.drop(while: { $0 == " " || $0 == "\t" })
            if trimmed.isEmpty || trimmed.hasPrefix("#")
                || trimmed.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" })
            {
                continue
            }
            guard let colon = trimmed.firstIndex(of: ":") else { throw ParseError() }
            let key = trimmed[..<colon].trimmingCharacters(" \t").lowercased()
            guard !key.isEmpty, !key.contains(" ") else { throw ParseError() }
            values[key] = trimmed[trimmed.index(after: colon)...].trimmingCharacters(" \t\r")
        }
    }

    /// The value of `key`, when set and not empty.
    subscript(key: String) -> String? {
        guard let value = values[key], !value.isEmpty else { return nil }
        return value
    }

    /// Whether `key` is on in libsasl2's sense: its value starts with 1, y, t or "on".
    func isOn(_ key: String) -> Bool {
        guard let value = self[key]?.lowercased() else { return false }
        return value.hasPrefix("1") || value.hasPrefix("y") || value.hasPrefix("t") || value.hasPrefix("on")
    }
}

extension StringProtocol {
    /// The text without leading and trailing characters of `set`.
    func trimmingCharacters(_ set: String) -> String {
        let dropped = drop(while: { set.contains($0) })
        return String(dropped.reversed().drop(while: { set.contains($0) }).reversed())
    }
}
