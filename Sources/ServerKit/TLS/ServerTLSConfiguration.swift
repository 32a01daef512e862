import NIOSSL

/// A server's TLS certificate and key, and the protocol versions it accepts; shared by every service of the package.
///
/// The files are read when the server starts and again when it reloads its TLS material (the SMTP server's and the
/// password service's `reloadTLS`): one `NIOSSLContext` is built per load and shared by every new connection;
/// established sessions keep the context they started with.
public struct ServerTLSConfiguration: Sendable, Equatable {
    /// Where the PEM material comes from.
    public enum Source: Sendable, Equatable {
        /// PEM files: the certificate chain (leaf first, then intermediates) and the private key.
        case files(certificateChain: String, privateKey: String)
        /// PEM bytes already read (for a daemon that reads its key as root before dropping privileges).
        case pem(certificateChain: [UInt8], privateKey: [UInt8])
    }

    /// Where the certificate chain and key come from.
    public var source: Source
    /// The oldest TLS version accepted; TLS 1.2 by default. TLS 1.3 is always preferred when the client has it.
    public var minimumVersion: TLSVersion
    /// The TLS 1.2 cipher suites offered, as an OpenSSL cipher list; TLS 1.3's suites are all forward-secret AEADs and
    /// are not affected. ``defaultCipherSuites`` by default.
    public var cipherSuites: String

    /// Forward-secret key exchange (ECDHE) with an AEAD cipher only: no RSA key exchange, whose recorded sessions a
    /// stolen key decrypts later, and no CBC suites.
    public static let defaultCipherSuites = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")

    /// Every TLS 1.2 suite a site may add for old clients: the defaults, then CBC with ECDHE, then RSA key exchange.
    /// A list is checked against it before it reaches BoringSSL, which stops the process on a list it cannot use.
    public static let knownCipherSuites =
        defaultCipherSuites.split(separator: ":").map(String.init) + [
            "ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA", "ECDHE-RSA-AES256-SHA",
            "AES128-GCM-SHA256", "AES256-GCM-SHA384", "AES128-SHA", "AES256-SHA",
        ]

    /// The suite names of a cipher list, separated by `:`, `,` or blanks.
    public static func cipherSuiteNames(_ list: String) -> [String] {
        list.split(whereSeparator: { $0 == ":" || $0 == "," || $0 == " " }).map(String.init)
    }

    /// The names of `list` that are not in ``knownCipherSuites`` (an empty list is one unknown name).
    public static func unknownCipherSuites(in list: String) -> [String] {
        let names = cipherSuiteNames(list)
        guard !names.isEmpty else { return [list] }
        return names.filter { !knownCipherSuites.contains($0) }
    }

    /// Creates a configuration from PEM files.
    ///
    /// - Parameters:
    ///   - certificateChainPath: the PEM certificate chain, leaf first.
    ///   - privateKeyPath: the PEM private key of the leaf.
    ///   - minimumVersion: the oldest TLS version accepted.
    ///   - cipherSuites: the TLS 1.2 cipher suites, an OpenSSL cipher list.
    public init(
        certificateChainPath: String,
        privateKeyPath: String,
        minimumVersion: TLSVersion = .tlsv12,
        cipherSuites: String = ServerTLSConfiguration.defaultCipherSuites
    ) {
        self.source = .files(certificateChain: certificateChainPath, privateKey: privateKeyPath)
        self.minimumVersion = minimumVersion
        self.cipherSuites = cipherSuites
    }

    /// Creates a configuration from a source.
    ///
    /// - Parameters:
    ///   - source: the PEM material.
    ///   - minimumVersion: the oldest TLS version accepted.
    ///   - cipherSuites: the TLS 1.2 cipher suites, an OpenSSL cipher list.
    public init(
        source: Source,
        minimumVersion: TLSVersion = .tlsv12,
        cipherSuites: String = ServerTLSConfiguration.defaultCipherSuites
    ) {
        self.source = source
        self.minimumVersion = minimumVersion
        self.cipherSuites = cipherSuites
    }
}
