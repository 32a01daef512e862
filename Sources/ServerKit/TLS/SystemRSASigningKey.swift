import CCrypto
import NIOCore
import NIOSSL

/// The server's RSA private key, with the handshake's private-key operations done by the system's OpenSSL libcrypto
/// instead of the BoringSSL built into swift-nio-ssl.
///
/// Why: the RSA-2048 signature of each handshake was about 43% of the server CPU of a STARTTLS + AUTH PLAIN session,
/// and OpenSSL 3's RSA is faster on this hardware: `openssl speed rsa2048` signs in ≈0.36 ms where BoringSSL's
/// handshake signature took ≈0.5 ms in the daemon's profile; measured with `Benchmarks/smtp` (TLS 1.3, concurrency 8,
/// 4 interleaved runs of 1,000 sessions) the server's CPU per session went from 1.27 ms to 1.04 ms. BoringSSL still
/// does everything else (it calls ``sign(channel:algorithm:data:)`` and ``decrypt(channel:data:)`` through its
/// private-key method), and the operations run inline on the channel's event loop, as BoringSSL's own signing did.
///
/// `@unchecked Sendable`: the `EVP_PKEY` is never modified after `init`; OpenSSL 3 lets threads use one key at once
/// for signing and decryption, guarding the key's internal caches with the key's own lock.
final class SystemRSASigningKey: NIOSSLCustomPrivateKey, Hashable, @unchecked Sendable {
    /// Why an operation failed (no key material in it).
    enum Failure: Error, CustomStringConvertible {
        /// libcrypto refused the named step.
        case openSSL(String)
        /// BoringSSL asked for an algorithm the key does not offer.
        case unsupportedAlgorithm(SignatureAlgorithm)

        var description: String {
            switch self {
            case .openSSL(let step): return "OpenSSL failed to \(step)"
            case .unsupportedAlgorithm(let algorithm): return "signature algorithm \(algorithm) is not offered"
            }
        }
    }

    /// The `EVP_PKEY`, owned.
    private let key: OpaquePointer

    /// The algorithms BoringSSL offers for an RSA key by default, in its order: RSA-PSS is the only RSA signature of
    /// TLS 1.3; PKCS #1 v1.5 serves TLS 1.2 clients, SHA-1 only those that name no algorithm.
    let signatureAlgorithms: [SignatureAlgorithm] = [
        .rsaPssRsaeSha256, .rsaPkcs1Sha256,
        .rsaPssRsaeSha384, .rsaPkcs1Sha384,
        .rsaPssRsaeSha512, .rsaPkcs1Sha512,
        .rsaPkcs1Sha1,
    ]

    /// Loads the key from its DER encoding (PKCS #1 or PKCS #8), or returns `nil` when it is not an RSA key or does
    /// not belong to the certificate.
    ///
    /// - Parameters:
    ///   - privateKeyDER: the private key, as `NIOSSLPrivateKey.derBytes` gives it.
    ///   - certificateDER: the leaf certificate whose public key it must match.
    init?(privateKeyDER: [UInt8], certificateDER: [UInt8]) {
        // OpenSSL's decoders may queue errors while trying formats, even on success: none is left for later callers.
        defer { ERR_clear_error() }
        let parsed = privateKeyDER.withUnsafeBufferPointer { bytes -> OpaquePointer? in
            var cursor = bytes.baseAddress
            return d2i_AutoPrivateKey(nil, &cursor, bytes.count)
        }
        guard let parsed else { return nil }
        guard EVP_PKEY_get_base_id(parsed) == NID_rsaEncryption,
            Self.publicKey(ofCertificate: certificateDER, matches: parsed)
        else {
            EVP_PKEY_free(parsed)
            return nil
        }
        key = parsed
    }

    deinit {
        EVP_PKEY_free(key)
    }

    private static func publicKey(ofCertificate der: [UInt8], matches key: OpaquePointer) -> Bool {
        let certificate = der.withUnsafeBufferPointer { bytes -> OpaquePointer? in
            var cursor = bytes.baseAddress
            return d2i_X509(nil, &cursor, bytes.count)
        }
        guard let certificate else { return false }
        defer { X509_free(certificate) }
        guard let publicKey = X509_get0_pubkey(certificate) else { return false }
        return EVP_PKEY_eq(publicKey, key) == 1
    }

    func sign(channel: any Channel, algorithm: SignatureAlgorithm, data: ByteBuffer) -> EventLoopFuture<ByteBuffer> {
        do {
            let signed = try data.withUnsafeReadableBytes { try self.signature(of: $0, algorithm: algorithm) }
            return channel.eventLoop.makeSucceededFuture(channel.allocator.buffer(bytes: signed))
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
    }

    func decrypt(channel: any Channel, data: ByteBuffer) -> EventLoopFuture<ByteBuffer> {
        do {
            let decrypted = try data.withUnsafeReadableBytes { try self.rawDecryption(of: $0) }
            return channel.eventLoop.makeSucceededFuture(channel.allocator.buffer(bytes: decrypted))
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
    }

    /// The hash and padding of a TLS signature algorithm this key signs with; `nil` for any other.
    static func parameters(of algorithm: SignatureAlgorithm) -> (digest: OpaquePointer?, isPSS: Bool)? {
        switch algorithm {
        case .rsaPssRsaeSha256: (EVP_sha256(), true)
        case .rsaPssRsaeSha384: (EVP_sha384(), true)
        case .rsaPssRsaeSha512: (EVP_sha512(), true)
        case .rsaPkcs1Sha256: (EVP_sha256(), false)
        case .rsaPkcs1Sha384: (EVP_sha384(), false)
        case .rsaPkcs1Sha512: (EVP_sha512(), false)
        case .rsaPkcs1Sha1: (EVP_sha1(), false)
        default: nil
        }
    }

    /// Signs `message` (hashed here) as TLS's `algorithm` says: RSA-PSS with MGF1 on the same hash and a salt as long
    /// as the hash (RFC 8446, 4.2.3), or PKCS #1 v1.5.
    func signature(of message: UnsafeRawBufferPointer, algorithm: SignatureAlgorithm) throws(Failure) -> [UInt8] {
        guard let (digest, isPSS) = Self.parameters(of: algorithm) else { throw .unsupportedAlgorithm(algorithm) }
        guard let context = EVP_MD_CTX_new() else { throw Self.failure("allocate a digest context") }
        defer { EVP_MD_CTX_free(context) }
        var keyContext: OpaquePointer?
        guard EVP_DigestSignInit(context, &keyContext, digest, nil, key) == 1, let keyContext else {
            throw Self.failure("start a signature")
        }
        if isPSS {
            guard EVP_PKEY_CTX_set_rsa_padding(keyContext, RSA_PKCS1_PSS_PADDING) == 1,
                EVP_PKEY_CTX_set_rsa_mgf1_md(keyContext, digest) == 1,
                EVP_PKEY_CTX_set_rsa_pss_saltlen(keyContext, RSA_PSS_SALTLEN_DIGEST) == 1
            else { throw Self.failure("set the RSA-PSS parameters") }
        } else {
            guard EVP_PKEY_CTX_set_rsa_padding(keyContext, RSA_PKCS1_PADDING) == 1 else {
                throw Self.failure("set the PKCS #1 padding")
            }
        }
        var signature = [UInt8](repeating: 0, count: Int(EVP_PKEY_get_size(key)))
        var length = signature.count
        guard EVP_DigestSign(context, &signature, &length, message.baseAddress, message.count) == 1 else {
            throw Self.failure("sign")
        }
        signature.removeLast(signature.count - length)
        return signature
    }

    /// The raw RSA decryption BoringSSL asks for with TLS 1.2's RSA key exchange: no padding removed here, BoringSSL
    /// checks it in constant time.
    private func rawDecryption(of ciphertext: UnsafeRawBufferPointer) throws(Failure) -> [UInt8] {
        guard let context = EVP_PKEY_CTX_new(key, nil) else { throw Self.failure("allocate a key context") }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_decrypt_init(context) == 1, EVP_PKEY_CTX_set_rsa_padding(context, RSA_NO_PADDING) == 1 else {
            throw Self.failure("start a decryption")
        }
        var plaintext = [UInt8](repeating: 0, count: Int(EVP_PKEY_get_size(key)))
        var length = plaintext.count
        let input = ciphertext.assumingMemoryBound(to: UInt8.self)
        guard EVP_PKEY_decrypt(context, &plaintext, &length, input.baseAddress, input.count) == 1 else {
            throw Self.failure("decrypt")
        }
        plaintext.removeLast(plaintext.count - length)
        return plaintext
    }

    /// Clears libcrypto's error queue of this thread (it would otherwise grow) and names the failed step.
    private static func failure(_ step: String) -> Failure {
        ERR_clear_error()
        return .openSSL(step)
    }

    static func == (lhs: SystemRSASigningKey, rhs: SystemRSASigningKey) -> Bool {
        lhs === rhs
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(ObjectIdentifier(self))
    }
}
