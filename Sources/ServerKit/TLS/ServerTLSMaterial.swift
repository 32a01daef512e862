import NIOSSL

/// One load of the TLS material: the context new connections use and the channel binding data it implies.
package struct ServerTLSMaterial: Sendable {
    /// The context every connection of this load shares.
    package var context: NIOSSLContext
    /// `tls-server-end-point` of the leaf certificate (RFC 5929), or `nil` when its signature hash is not one the
    /// RFC defines (a service then offers no channel binding, and SCRAM's `-PLUS` variants stay unavailable).
    package var tlsServerEndPoint: [UInt8]?

    /// Loads the material.
    ///
    /// - Throws: ``TLSMaterialError`` with the path or the reason.
    package init(_ configuration: ServerTLSConfiguration) throws(TLSMaterialError) {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        switch configuration.source {
        case .files(let chainPath, let keyPath):
            do {
                chain = try NIOSSLCertificate.fromPEMFile(chainPath)
            } catch {
                throw TLSMaterialError("cannot read the certificate chain \(chainPath): \(error)")
            }
            do {
                key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
            } catch {
                throw TLSMaterialError("cannot read the private key \(keyPath): \(error)")
            }
        case .pem(let chainBytes, let keyBytes):
            do {
                chain = try NIOSSLCertificate.fromPEMBytes(chainBytes)
            } catch {
                throw TLSMaterialError("cannot parse the certificate chain: \(error)")
            }
            do {
                key = try NIOSSLPrivateKey(bytes: keyBytes, format: .pem)
            } catch {
                throw TLSMaterialError("cannot parse the private key")
            }
        }
        guard let leaf = chain.first else { throw TLSMaterialError("the certificate chain holds no certificate") }
        let unknown = ServerTLSConfiguration.unknownCipherSuites(in: configuration.cipherSuites)
        guard unknown.isEmpty else {
            throw TLSMaterialError("unknown TLS cipher suites: \(unknown.joined(separator: " "))")
        }
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) },
            privateKey: .privateKey(Self.signingKey(key, leaf: leaf, minimumVersion: configuration.minimumVersion))
        )
        tls.minimumTLSVersion = configuration.minimumVersion
        tls.maximumTLSVersion = .tlsv13
        tls.cipherSuites = ServerTLSConfiguration.cipherSuiteNames(configuration.cipherSuites).joined(separator: ":")
        do {
            context = try NIOSSLContext(configuration: tls)
        } catch {
            throw TLSMaterialError("the key does not match the certificate or is unusable: \(error)")
        }
        tlsServerEndPoint = (try? leaf.toDERBytes()).flatMap { TLSServerEndPoint.bindingData(forCertificate: $0) }
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
