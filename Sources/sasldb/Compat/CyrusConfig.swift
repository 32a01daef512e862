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

    /// Parses `key: value` lines (``SiteConfiguration/parseLines(_:source:)``); a later key wins, as in libsasl2.
    init(parsing text: [UInt8]) throws(ParseError) {
        do throws(SiteConfigurationError) {
            for (key, entry) in try SiteConfiguration.parseLines(text, source: "") { values[key] = entry.value }
        } catch {
            throw ParseError()
        }
    }

    /// The value of `key`, when set and not empty.
    subscript(key: String) -> String? {
        guard let value = values[key], !value.isEmpty else { return nil }
        return value
    }

    /// Whether `key` is on in libsasl2's sense: its value starts with 1, y, t or "on".
    func isOn(_ key: String) -> Bool {
        self[key].map(SiteConfiguration.isOn) ?? false
    }
}
