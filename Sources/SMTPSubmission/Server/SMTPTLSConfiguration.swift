import NIOSSL
import SASLMechanisms

/// The server's TLS certificate and key, and the protocol versions it accepts.
///
/// The files are read when the server starts and again on ``SMTPServer/reloadTLS(_:)``: one `NIOSSLContext` is built
/// per load and shared by every new connection; established sessions keep the context they started with.
public struct SMTPTLSConfiguration: Sendable, Equatable {
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

/// One load of the TLS material: the context new connections use and the channel binding it implies.
package struct SMTPTLSMaterial: Sendable {
    /// The context every connection of this load shares.
    package var context: NIOSSLContext
    /// `tls-server-end-point` of the leaf certificate (RFC 5929), or empty when its signature hash is not one the
    /// RFC defines (the SCRAM `-PLUS` variants then stay unavailable).
    package var channelBindings: [SCRAMChannelBinding]

    /// Loads the material.
    ///
    /// - Throws: ``SMTPServerError/tlsUnreadable`` with the path or the reason.
    package init(_ configuration: SMTPTLSConfiguration) throws(SMTPServerError) {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        switch configuration.source {
        case .files(let chainPath, let keyPath):
            do {
                chain = try NIOSSLCertificate.fromPEMFile(chainPath)
            } catch {
                throw .tlsUnreadable("cannot read the certificate chain \(chainPath): \(error)")
            }
            do {
                key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
            } catch {
                throw .tlsUnreadable("cannot read the private key \(keyPath): \(error)")
            }
        case .pem(let chainBytes, let keyBytes):
            do {
                chain = try NIOSSLCertificate.fromPEMBytes(chainBytes)
            } catch {
                throw .tlsUnreadable("cannot parse the certificate chain: \(error)")
            }
            do {
                key = try NIOSSLPrivateKey(bytes: keyBytes, format: .pem)
            } catch {
                throw .tlsUnreadable("cannot parse the private key")
            }
        }
        guard let leaf = chain.first else { throw .tlsUnreadable("the certificate chain holds no certificate") }
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) },
            privateKey: .privateKey(Self.signingKey(key, leaf: leaf, minimumVersion: configuration.minimumVersion))
        )
        tls.minimumTLSVersion = configuration.minimumVersion
        tls.maximumTLSVersion = .tlsv13
        do {
            context = try NIOSSLContext(configuration: tls)
        } catch {
            throw .tlsUnreadable("the key does not match the certificate or is unusable: \(error)")
        }
        if let der = try? leaf.toDERBytes(), let endPoint = TLSServerEndPoint.bindingData(forCertificate: der) {
            channelBindings = [.tlsServerEndPoint(endPoint)]
        } else {
            channelBindings = []
        }
    }

    /// The key the context signs with: an RSA key that matches the leaf goes to ``SystemRSASigningKey`` (OpenSSL's
    /// faster RSA) when only TLS 1.2 and later are accepted, since older versions sign with MD5+SHA-1, which that key
    /// does not offer; any other key stays with BoringSSL, which also reports a mismatch with the certificate.
    private static func signingKey(
        _ key: NIOSSLPrivateKey,
        leaf: NIOSSLCertificate,
        minimumVersion: TLSVersion
    ) -> NIOSSLPrivateKey {
        switch minimumVersion {
        case .tlsv12, .tlsv13: break
        case .tlsv1, .tlsv11: return key
        }
        guard let keyDER = try? key.derBytes, let leafDER = try? leaf.toDERBytes(),
            let systemKey = SystemRSASigningKey(privateKeyDER: keyDER, certificateDER: leafDER)
        else { return key }
        return NIOSSLPrivateKey(customPrivateKey: systemKey)
    }
}
