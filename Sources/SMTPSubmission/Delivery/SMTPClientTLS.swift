import NIOSSL

/// TLS for an SMTP client connection: how ``RelaySink`` protects its connection with `STARTTLS` after `EHLO`/`LHLO`
/// (the server's certificate chain verified against trusted roots and its name checked, before anything of the
/// message or a credential is sent), and the settings of `sasl-smtpd smtp-test`.
public struct SMTPClientTLS: Sendable {
    /// The client context: trust roots and verification.
    public var context: NIOSSLContext
    /// The name the certificate must hold (and the SNI name); `nil` checks the address connected to.
    public var serverHostname: String?

    /// Creates the settings from a context made by the caller.
    ///
    /// - Parameters:
    ///   - context: a client context; it should verify the server (NIOSSL's `fullVerification`, its default).
    ///   - serverHostname: the name to check; `nil` for the relay's host.
    public init(context: NIOSSLContext, serverHostname: String?) {
        self.context = context
        self.serverHostname = serverHostname
    }

    /// Settings that verify the server fully: its chain against `trustedCertificatesPEM` (the system's roots when
    /// `nil`), its name against `serverHostname`, TLS 1.2 or later.
    ///
    /// - Parameters:
    ///   - trustedCertificatesPEM: PEM certificates to trust instead of the system's roots (a private CA).
    ///   - serverHostname: the name the certificate must hold; `nil` for the relay's host.
    /// - Throws: NIOSSL's error for PEM that does not parse or a context that cannot be made.
    public static func verifying(trustedCertificatesPEM: [UInt8]?, serverHostname: String?) throws -> SMTPClientTLS {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .fullVerification
        configuration.minimumTLSVersion = .tlsv12
        if let trustedCertificatesPEM {
            let certificates = try NIOSSLCertificate.fromPEMBytes(trustedCertificatesPEM)
            guard !certificates.isEmpty else { throw NIOSSLError.failedToLoadCertificate }
            configuration.trustRoots = .certificates(certificates)
        }
        return SMTPClientTLS(context: try NIOSSLContext(configuration: configuration), serverHostname: serverHostname)
    }
}
