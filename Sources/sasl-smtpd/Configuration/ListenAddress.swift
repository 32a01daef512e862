import ServerKit

/// An address and port to listen on: `127.0.0.1:587`, `[::1]:587`, `0.0.0.0:465`, `*:587` (every IPv4 address),
/// `[::]:587` (every address).
struct ListenAddress: Equatable, Sendable, CustomStringConvertible {
    /// The address to bind.
    var host: String
    /// The port; `0` lets the system choose.
    var port: Int

    /// Parses `host:port`.
    init(parsing text: String) throws(ConfigurationError) {
        let host: Substring
        let port: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw ConfigurationError("\(text): expected [address]:port")
            }
            host = text[text.index(after: text.startIndex)..<close]
            port = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else {
                throw ConfigurationError("\(text): expected address:port (an IPv6 address goes in brackets)")
            }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, host.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else {
            throw ConfigurationError("\(text): the address is missing or holds blanks")
        }
        guard let number = Int(port), (0...65535).contains(number) else {
            throw ConfigurationError("\(text): the port must be a number from 0 to 65535")
        }
        self.host = host == "*" ? "0.0.0.0" : String(host)
        self.port = number
    }

    /// Creates an address.
    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// A list: addresses separated by commas or blanks; empty for none.
    static func parseList(_ text: String) throws(ConfigurationError) -> [ListenAddress] {
        var addresses: [ListenAddress] = []
        for word in text.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" }) {
            addresses.append(try ListenAddress(parsing: String(word)))
        }
        return addresses
    }

    var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Whether the address is on the loopback interface (`127.0.0.0/8`, `::1`, `localhost`).
    var isLoopback: Bool { isLoopbackHost(host) }
}
