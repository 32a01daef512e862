import SASLClient

/// The login and password the relay sink gives its next hop, read from `relay_auth_file`: the login on the first line,
/// the password on the second (all of it, blanks included; a final CR is dropped).
enum RelayCredentials {
    /// Parses the file's bytes; an error names the file and the line at fault, never what it holds.
    static func parse(_ bytes: [UInt8], path: String) throws(ConfigurationError) -> SASLClientCredentials {
        let lines = bytes.split(separator: 10, maxSplits: 2, omittingEmptySubsequences: false).map { line in
            line.last == 13 ? Array(line.dropLast()) : Array(line)
        }
        guard lines.count >= 2, !lines[0].isEmpty, !lines[1].isEmpty else {
            throw ConfigurationError("relay_auth_file \(path): expected the login on line 1 and the password on line 2")
        }
        guard !lines[0].contains(where: { $0 < 0x21 || $0 == 0x7F }),
            let login = String(validating: lines[0], as: UTF8.self)
        else {
            throw ConfigurationError("relay_auth_file \(path): the login on line 1 holds blanks or is not UTF-8")
        }
        guard !lines[1].contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
            throw ConfigurationError("relay_auth_file \(path): the password on line 2 holds control characters")
        }
        return SASLClientCredentials(user: login, password: lines[1])
    }
}
