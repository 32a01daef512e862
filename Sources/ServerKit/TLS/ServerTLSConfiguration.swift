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

    /// Creates a configuration from PEM files.
    ///
    /// - Parameters:
    ///   - certificateChainPath: the PEM certificate chain, leaf first.
    ///   - privateKeyPath: the PEM private key of the leaf.
    ///   - minimumVersion: the oldest TLS version accepted.
    public init(certificateChainPath: String, privateKeyPath: String, minimumVersion: TLSVersion = .tlsv12) {
        self.source = .files(certificateChain: certificateChainPath, privateKey: privateKeyPath)
        self.minimumVersion = minimumVersion
    }

    /// Creates a configuration from a source.
    ///
    /// - Parameters:
    ///   - source: the PEM material.
    ///   - minimumVersion: the oldest TLS version accepted.
    public init(source: Source, minimumVersion: TLSVersion = .tlsv12) {
        self.source = source
        self.minimumVersion = minimumVersion
    }
}
