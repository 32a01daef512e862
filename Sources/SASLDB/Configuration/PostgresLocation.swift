/// Where a PostgreSQL credential store is and how to reach it: plain data, parsed and checked here so every entry point
/// refuses a bad setting the same way; the `SASLDBPostgres` target connects.
///
/// Written as a URL (`postgresql://user@host:port/database?sslmode=verify-full`, the libpq form, where `host` may
/// also be a query parameter naming a Unix socket directory) or as `postgres_*` keys of the site file. A password is
/// never part of it: it is read from ``passwordFile`` when connecting, so reports and command lines show no secret.
public struct PostgresLocation: Sendable, Hashable, CustomStringConvertible {
    /// How the connection to the server is protected; the libpq `sslmode` names.
    public enum TLSMode: String, Sendable, Hashable, CaseIterable {
        /// No TLS (only for a Unix socket or a loopback address).
        case disable
        /// TLS without checking the server's certificate: protects against listeners, not against impostors.
        case require
        /// TLS with the certificate checked against ``PostgresLocation/caFile`` (or the system's roots).
        case verifyCA = "verify-ca"
        /// As ``verifyCA``, and the certificate must name ``PostgresLocation/host``.
        case verifyFull = "verify-full"
    }

    /// The server's host name or address; `nil` connects to the Unix socket in ``socketDirectory``.
    public var host: String?
    /// The server's TCP port, also the number in the socket's name (`.s.PGSQL.<port>`).
    public var port = 5432
    /// The directory of the server's Unix socket, used when ``host`` is `nil`.
    public var socketDirectory = "/var/run/postgresql"
    /// The database holding the `sasldb` table.
    public var database = "sasldb"
    /// The role to log in as.
    public var user = "sasldb"
    /// A file holding the role's password (its first line); `nil` for none (peer or trust authentication).
    public var passwordFile: String?
    /// How the TCP connection is protected; ignored on a Unix socket.
    public var tls = TLSMode.verifyFull
    /// PEM certificates of the authorities that may sign the server's certificate; `nil` for the system's.
    public var caFile: String?
    /// The most connections one process opens.
    public var poolSize = 8
    /// How long one query may take, connecting included, before it fails as ``SASLDBError/unavailable(store:detail:)``.
    public var queryTimeoutMilliseconds = 5000

    /// The most connections a pool may hold: more would only queue inside the server.
    public static let maximumPoolSize = 1000
    /// The longest query timeout, ten minutes.
    public static let maximumQueryTimeoutMilliseconds = 600_000

    /// The defaults: database and role `sasldb` over the local Unix socket.
    public init() {}

    /// Whether `text` is a PostgreSQL URL rather than a file path.
    public static func isURL(_ text: String) -> Bool {
        text.hasPrefix("postgresql://") || text.hasPrefix("postgres://")
    }

    /// Parses a `postgresql://` URL over the defaults.
    ///
    /// - Throws: ``PostgresLocationError`` naming what is wrong: not such a URL, a password in it, an unknown
    ///   parameter, a value out of range.
    public init(url: String) throws(PostgresLocationError) {
        self.init()
        guard Self.isURL(url) else { throw .init("expected postgresql://user@host:port/database, not \(url)") }
        let rest = url.drop(while: { $0 != "/" }).dropFirst(2)
        let (beforeQuery, query) = rest.splitOnce("?")
        let (authority, path) = beforeQuery.splitOnce("/")
        var hostPort = authority
        if authority.contains("@") {
            let (userInfo, afterAt) = authority.splitOnce("@", last: true)
            hostPort = afterAt ?? ""
            guard !userInfo.contains(":") else {
                throw .init("the URL holds a password; put it in a file and name it with password_file")
            }
            if !userInfo.isEmpty { try set("user", try Self.decode(userInfo)) }
        }
        if !hostPort.isEmpty {
            let (host, port) = hostPort.hasPrefix("[") ? Self.splitBracketed(hostPort) : hostPort.splitOnce(":")
            if !host.isEmpty { try set("host", try Self.decode(host)) }
            if let port { try set("port", String(port)) }
        }
        if let path, !path.isEmpty { try set("database", try Self.decode(path)) }
        for pair in (query ?? "").split(separator: "&") {
            let (key, value) = pair.splitOnce("=")
            try set(String(key), try Self.decode(value ?? ""))
        }
    }

    /// The names ``set(_:_:)`` takes: the URL's query parameters, and without the `postgres_` prefix the site keys.
    public static let settingNames = [
        "host", "port", "database", "user", "password_file", "sslmode", "sslrootcert", "pool_size", "query_timeout",
    ]

    /// Sets one setting by its URL parameter name (`host` starting with `/` names a socket directory;
    /// `query_timeout` is in seconds, as libpq's `connect_timeout`).
    ///
    /// - Throws: ``PostgresLocationError`` for an unknown name or a value out of range.
    public mutating func set(_ name: String, _ value: String) throws(PostgresLocationError) {
        switch name {
        case "host":
            if value.hasPrefix("/") {
                host = nil
                socketDirectory = value
            } else {
                guard !value.isEmpty else { throw .init("host is empty") }
                host = value
            }
        case "port": port = try Self.number(name, value, in: 1...65535)
        case "database", "dbname":
            guard !value.isEmpty else { throw .init("the database name is empty") }
            database = value
        case "user":
            guard !value.isEmpty else { throw .init("the user name is empty") }
            user = value
        case "password_file", "passfile":
            guard value.hasPrefix("/") else { throw .init("password_file must be an absolute path, not \(value)") }
            passwordFile = value
        case "sslmode":
            guard let mode = TLSMode(rawValue: value) else {
                let known = TLSMode.allCases.map(\.rawValue).joined(separator: ", ")
                throw .init("sslmode must be one of \(known), not \(value)")
            }
            tls = mode
        case "sslrootcert":
            guard value.hasPrefix("/") else { throw .init("sslrootcert must be an absolute path, not \(value)") }
            caFile = value
        case "pool_size": poolSize = try Self.number(name, value, in: 1...Self.maximumPoolSize)
        case "query_timeout":
            let seconds = try Self.number(name, value, in: 1...(Self.maximumQueryTimeoutMilliseconds / 1000))
            queryTimeoutMilliseconds = seconds * 1000
        default:
            throw .init("unknown setting \(name) (known: \(Self.settingNames.joined(separator: ", ")))")
        }
    }

    /// The location as a URL that ``init(url:)`` reads back, every setting spelled out; nothing in it is secret.
    public var description: String {
        var parameters: [String] = []
        var authority = Self.encode(user, keepingSlash: false) + "@"
        if let host {
            let encoded = Self.encode(host, keepingSlash: false)
            authority += (host.contains(":") ? "[\(encoded)]" : encoded) + ":\(port)"
        } else {
            authority += ":\(port)"
            parameters.append("host=\(Self.encode(socketDirectory))")
        }
        // Printed for a socket directory too (where no TLS is spoken), so that the URL reads back as the same location.
        parameters.append("sslmode=\(tls.rawValue)")
        if let caFile { parameters.append("sslrootcert=\(Self.encode(caFile))") }
        if let passwordFile { parameters.append("password_file=\(Self.encode(passwordFile))") }
        parameters.append("pool_size=\(poolSize)")
        parameters.append("query_timeout=\(queryTimeoutMilliseconds / 1000)")
        return "postgresql://\(authority)/\(Self.encode(database, keepingSlash: false))?"
            + parameters.joined(separator: "&")
    }

    /// A short name for messages: `database@host:port` or `database@socket-directory`.
    public var displayName: String {
        "\(database)@" + (host.map { "\($0):\(port)" } ?? socketDirectory)
    }

    private static func number(
        _ name: String,
        _ value: String,
        in range: ClosedRange<Int>
    ) throws(PostgresLocationError)
        -> Int
    {
        guard let number = Int(value), range.contains(number) else {
            throw .init("\(name) must be a number from \(range.lowerBound) to \(range.upperBound), not \(value)")
        }
        return number
    }

    private static func splitBracketed(_ text: Substring) -> (Substring, Substring?) {
        let (inside, after) = text.dropFirst().splitOnce("]")
        guard let after, after.hasPrefix(":") else { return (inside, nil) }
        return (inside, after.dropFirst())
    }

    /// Percent-decoding, refusing a broken escape or bytes that are not UTF-8.
    private static func decode(_ text: Substring) throws(PostgresLocationError) -> String {
        var bytes: [UInt8] = []
        var index = text.utf8.startIndex
        while index < text.utf8.endIndex {
            let byte = text.utf8[index]
            if byte == UInt8(ascii: "%") {
                let digits = text.utf8[index...].dropFirst().prefix(2)
                guard digits.count == 2, let value = UInt8(String(decoding: digits, as: UTF8.self), radix: 16) else {
                    throw .init("a broken %-escape in \(text)")
                }
                bytes.append(value)
                index = text.utf8.index(index, offsetBy: 3)
            } else {
                bytes.append(byte)
                index = text.utf8.index(after: index)
            }
        }
        guard let decoded = String(validating: bytes, as: UTF8.self), !decoded.contains("\0") else {
            throw .init("\(text) is not UTF-8 text once decoded")
        }
        return decoded
    }

    /// Percent-encoding of everything but unreserved characters, and `/` in the paths of parameters.
    private static func encode(_ text: String, keepingSlash: Bool = true) -> String {
        var out = ""
        for byte in text.utf8 {
            let scalar = Unicode.Scalar(byte)
            if (byte < 0x80 && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)))
                || "-._~".unicodeScalars.contains(scalar) || (keepingSlash && byte == UInt8(ascii: "/"))
            {
                out.unicodeScalars.append(scalar)
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }
}

extension Substring {
    /// The text before and after the first (or last) `separator`; `nil` after when there is none.
    fileprivate func splitOnce(_ separator: Character, last: Bool = false) -> (Substring, Substring?) {
        guard let index = last ? lastIndex(of: separator) : firstIndex(of: separator) else { return (self, nil) }
        return (self[..<index], self[self.index(after: index)...])
    }
}
