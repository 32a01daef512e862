import CCrypto
import Foundation
import NIOCore
import NIOEmbedded
import NIOSSL
import ServerKitTestSupport
import XCTest

@testable import ServerKit

/// The OpenSSL-backed RSA key: its signatures verify with the certificate's public key through libcrypto, and real
/// handshakes (two `EmbeddedChannel`s) succeed with every algorithm it offers, in TLS 1.2 and 1.3.
final class SystemRSASigningKeyTests: XCTestCase {
    private struct Loaded {
        var key: SystemRSASigningKey
        var certificate: NIOSSLCertificate
    }

    private func loadTestKey() throws -> Loaded {
        let files = try TestCertificate.files()
        let key = try NIOSSLPrivateKey(file: files.keyPath, format: .pem)
        let certificate = try NIOSSLCertificate(file: files.certificatePath, format: .pem)
        let systemKey = try XCTUnwrap(
            SystemRSASigningKey(privateKeyDER: try key.derBytes, certificateDER: try certificate.toDERBytes())
        )
        return Loaded(key: systemKey, certificate: certificate)
    }

    /// Verifies with libcrypto, with PSS's salt required to be as long as the hash.
    private func verifies(
        _ signature: [UInt8],
        of message: [UInt8],
        algorithm: SignatureAlgorithm,
        certificate: NIOSSLCertificate
    ) throws -> Bool {
        let der = try certificate.toDERBytes()
        let x509 = try XCTUnwrap(
            der.withUnsafeBufferPointer { bytes -> OpaquePointer? in
                var cursor = bytes.baseAddress
                return d2i_X509(nil, &cursor, bytes.count)
            }
        )
        defer { X509_free(x509) }
        let publicKey = try XCTUnwrap(X509_get0_pubkey(x509))
        guard let (digest, isPSS) = SystemRSASigningKey.parameters(of: algorithm) else {
            throw TestSupportError("no verifier for \(algorithm)")
        }
        let context = try XCTUnwrap(EVP_MD_CTX_new())
        defer { EVP_MD_CTX_free(context) }
        var keyContext: OpaquePointer?
        XCTAssertEqual(EVP_DigestVerifyInit(context, &keyContext, digest, nil, publicKey), 1)
        if isPSS {
            XCTAssertEqual(EVP_PKEY_CTX_set_rsa_padding(keyContext, RSA_PKCS1_PSS_PADDING), 1)
            XCTAssertEqual(EVP_PKEY_CTX_set_rsa_mgf1_md(keyContext, digest), 1)
            XCTAssertEqual(EVP_PKEY_CTX_set_rsa_pss_saltlen(keyContext, RSA_PSS_SALTLEN_DIGEST), 1)
        } else {
            XCTAssertEqual(EVP_PKEY_CTX_set_rsa_padding(keyContext, RSA_PKCS1_PADDING), 1)
        }
        let result = EVP_DigestVerify(context, signature, signature.count, message, message.count)
        ERR_clear_error()
        return result == 1
    }

    func testEveryOfferedSignatureVerifiesWithTheCertificatesPublicKey() throws {
        let loaded = try loadTestKey()
        let message = Array("TLS 1.3, server CertificateVerify".utf8) + [UInt8](repeating: 0x20, count: 64)
        for algorithm in loaded.key.signatureAlgorithms {
            let signature = try message.withUnsafeBytes { try loaded.key.signature(of: $0, algorithm: algorithm) }
            XCTAssertEqual(signature.count, 256, "\(algorithm)")
            XCTAssertTrue(
                try verifies(signature, of: message, algorithm: algorithm, certificate: loaded.certificate),
                "\(algorithm)"
            )
            var tampered = message
            tampered[0] ^= 1
            XCTAssertFalse(
                try verifies(signature, of: tampered, algorithm: algorithm, certificate: loaded.certificate),
                "\(algorithm)"
            )
        }
    }

    func testUnofferedAlgorithmIsRefused() throws {
        let loaded = try loadTestKey()
        XCTAssertThrowsError(
            try [UInt8](repeating: 1, count: 8).withUnsafeBytes {
                try loaded.key.signature(of: $0, algorithm: .ecdsaSecp256R1Sha256)
            }
        )
    }

    func testKeysOfOtherTypesOrCertificatesAreLeftToBoringSSL() throws {
        let files = try TestCertificate.files()
        let ecKeyPath = files.directory.appendingPathComponent("ec-key.pem").path
        let ecCertificatePath = files.directory.appendingPathComponent("ec-cert.pem").path
        let result = ProcessRunner.run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                "-keyout", ecKeyPath, "-out", ecCertificatePath, "-subj", "/CN=localhost",
            ],
            timeout: 60
        )
        XCTAssertEqual(result.status, 0, result.standardError)
        let rsaKey = try NIOSSLPrivateKey(file: files.keyPath, format: .pem).derBytes
        let ecKey = try NIOSSLPrivateKey(file: ecKeyPath, format: .pem).derBytes
        let ecCertificate = try NIOSSLCertificate(file: ecCertificatePath, format: .pem).toDERBytes()
        XCTAssertNil(SystemRSASigningKey(privateKeyDER: ecKey, certificateDER: ecCertificate))
        XCTAssertNil(SystemRSASigningKey(privateKeyDER: rsaKey, certificateDER: ecCertificate))
        XCTAssertNil(SystemRSASigningKey(privateKeyDER: [0x30, 0x03, 0x02, 0x01, 0x00], certificateDER: ecCertificate))

        // The EC key still serves, through BoringSSL.
        let material = try ServerTLSMaterial(
            ServerTLSConfiguration(certificateChainPath: ecCertificatePath, privateKeyPath: ecKeyPath)
        )
        try handshake(server: material.context, client: .tlsv13, algorithm: nil, cipherSuites: nil)
    }

    func testHandshakesSucceedWithEveryOfferedAlgorithm() throws {
        let loaded = try loadTestKey()
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: [.certificate(loaded.certificate)],
            privateKey: .privateKey(NIOSSLPrivateKey(customPrivateKey: loaded.key))
        )
        configuration.minimumTLSVersion = .tlsv12
        let context = try NIOSSLContext(configuration: configuration)
        for algorithm in loaded.key.signatureAlgorithms {
            try handshake(server: context, client: .tlsv12, algorithm: algorithm, cipherSuites: nil)
        }
        for algorithm in [SignatureAlgorithm.rsaPssRsaeSha256, .rsaPssRsaeSha384, .rsaPssRsaeSha512] {
            try handshake(server: context, client: .tlsv13, algorithm: algorithm, cipherSuites: nil)
        }
        // TLS 1.2's RSA key exchange: the key decrypts instead of signing.
        try handshake(server: context, client: .tlsv12, algorithm: nil, cipherSuites: "AES128-GCM-SHA256")
    }

    func testMaterialHandshakesOverTLS12AndTLS13() throws {
        let material = try TestCertificate.material()
        try handshake(server: material.context, client: .tlsv12, algorithm: nil, cipherSuites: nil)
        try handshake(server: material.context, client: .tlsv13, algorithm: nil, cipherSuites: nil)
    }

    /// A handshake in memory with a client limited to `version` (and to `algorithm` for the server's signature),
    /// proven by application data crossing it.
    private func handshake(
        server context: NIOSSLContext,
        client version: TLSVersion,
        algorithm: SignatureAlgorithm?,
        cipherSuites: String?
    ) throws {
        var clientConfiguration = TLSConfiguration.makeClientConfiguration()
        clientConfiguration.certificateVerification = .none
        clientConfiguration.minimumTLSVersion = version
        clientConfiguration.maximumTLSVersion = version
        if let algorithm { clientConfiguration.verifySignatureAlgorithms = [algorithm] }
        if let cipherSuites { clientConfiguration.cipherSuites = cipherSuites }
        let client = EmbeddedChannel()
        let server = EmbeddedChannel()
        try server.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
        try client.pipeline.syncOperations.addHandler(
            try NIOSSLClientHandler(context: NIOSSLContext(configuration: clientConfiguration), serverHostname: nil)
        )
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: 25)
        try server.connect(to: address).wait()
        try client.connect(to: address).wait()
        try interactInMemory(client, server)
        // No wait on the write: were the handshake stuck, it would never complete.
        client.writeAndFlush(client.allocator.buffer(string: "EHLO client.example\r\n"), promise: nil)
        try interactInMemory(client, server)
        let received = try server.readInbound(as: ByteBuffer.self)
        XCTAssertEqual(
            received.map { String(buffer: $0) },
            "EHLO client.example\r\n",
            "\(version) \(algorithm.map { "\($0)" } ?? "default") \(cipherSuites ?? "")"
        )
    }
}
