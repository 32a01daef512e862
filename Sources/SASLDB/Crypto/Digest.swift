import CCrypto

/// The hash functions sasldb secrets and the SASL mechanisms are built on, all computed by OpenSSL's libcrypto.
///
/// Every operation here is a one-shot call. A failure of libcrypto on these inputs can only mean a broken installation
/// (for example a provider configuration that disables MD5), so it stops the process instead of returning a wrong value.
package enum HashAlgorithm: Sendable, CaseIterable, CustomStringConvertible {
    /// MD5, for CRAM-MD5, DIGEST-MD5 and the legacy PLAIN secret only.
    case md5
    /// SHA-1, for SCRAM-SHA-1.
    case sha1
    /// SHA-224.
    case sha224
    /// SHA-256, for SCRAM-SHA-256.
    case sha256
    /// SHA-384.
    case sha384
    /// SHA-512.
    case sha512

    /// The length of a digest (and of an HMAC) in bytes.
    package var digestLength: Int {
        switch self {
        case .md5: return 16
        case .sha1: return 20
        case .sha224: return 28
        case .sha256: return 32
        case .sha384: return 48
        case .sha512: return 64
        }
    }

    /// The name OpenSSL and the SCRAM mechanism names use, for example `SHA-256`.
    package var description: String {
        switch self {
        case .md5: return "MD5"
        case .sha1: return "SHA-1"
        case .sha224: return "SHA-224"
        case .sha256: return "SHA-256"
        case .sha384: return "SHA-384"
        case .sha512: return "SHA-512"
        }
    }

    /// libcrypto's method table for this hash.
    private var evp: OpaquePointer {
        let method: OpaquePointer?
        switch self {
        case .md5: method = EVP_md5()
        case .sha1: method = EVP_sha1()
        case .sha224: method = EVP_sha224()
        case .sha256: method = EVP_sha256()
        case .sha384: method = EVP_sha384()
        case .sha512: method = EVP_sha512()
        }
        guard let method else { preconditionFailure("libcrypto does not provide \(self)") }
        return method
    }

    /// The digest of `data`.
    package func digest(_ data: some Collection<UInt8>) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: digestLength)
        let ok = withCryptoInput(data) { input, count in
            output.withUnsafeMutableBufferPointer { out in
                EVP_Digest(input, count, out.baseAddress, nil, evp, nil)
            }
        }
        guard ok == 1 else { preconditionFailure("EVP_Digest(\(self)) failed") }
        return output
    }

    /// The RFC 2104 HMAC of `data` under `key`.
    package func hmac(key: some Collection<UInt8>, _ data: some Collection<UInt8>) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: digestLength)
        var written: UInt32 = 0
        let result = withCryptoInput(key) { keyBytes, keyCount in
            withCryptoInput(data) { dataBytes, dataCount in
                output.withUnsafeMutableBufferPointer { out in
                    HMAC(evp, keyBytes, cInt(keyCount), dataBytes, dataCount, out.baseAddress, &written)
                }
            }
        }
        guard result != nil, Int(written) == digestLength else { preconditionFailure("HMAC(\(self)) failed") }
        return output
    }

    /// PBKDF2 (RFC 8018) with HMAC over this hash, which is SCRAM's `Hi()` when `length` is the digest length.
    ///
    /// - Precondition: `iterations` ≥ 1 and `length` ≥ 1 and both fit in a C `int`.
    package func pbkdf2(
        password: some Collection<UInt8>,
        salt: some Collection<UInt8>,
        iterations: Int,
        length: Int
    ) -> [UInt8] {
        precondition(iterations >= 1 && iterations <= Int(Int32.max), "PBKDF2 iteration count out of range")
        precondition(length >= 1 && length <= Int(Int32.max), "PBKDF2 output length out of range")
        var output = [UInt8](repeating: 0, count: length)
        let ok = withCryptoInput(password) { passwordBytes, passwordCount in
            withCryptoInput(salt) { saltBytes, saltCount in
                output.withUnsafeMutableBufferPointer { out in
                    passwordBytes.withMemoryRebound(to: CChar.self, capacity: max(passwordCount, 1)) { passwordChars in
                        PKCS5_PBKDF2_HMAC(
                            passwordChars,
                            cInt(passwordCount),
                            saltBytes,
                            cInt(saltCount),
                            Int32(iterations),
                            evp,
                            Int32(length),
                            out.baseAddress
                        )
                    }
                }
            }
        }
        guard ok == 1 else { preconditionFailure("PKCS5_PBKDF2_HMAC(\(self)) failed") }
        return output
    }
}

/// The digest of `data` under `algorithm`.
package func digest(_ algorithm: HashAlgorithm, _ data: some Collection<UInt8>) -> [UInt8] {
    algorithm.digest(data)
}

/// HMAC-`algorithm` of `data` keyed with `key`.
package func hmac(_ algorithm: HashAlgorithm, key: some Collection<UInt8>, _ data: some Collection<UInt8>) -> [UInt8] {
    algorithm.hmac(key: key, data)
}

/// PBKDF2-HMAC-`algorithm` of `password` and `salt`, `length` bytes long.
package func pbkdf2(
    _ algorithm: HashAlgorithm,
    password: some Collection<UInt8>,
    salt: some Collection<UInt8>,
    iterations: Int,
    length: Int
) -> [UInt8] {
    algorithm.pbkdf2(password: password, salt: salt, iterations: iterations, length: length)
}

/// Runs `body` on a contiguous copy-free view of `bytes` when possible.
///
/// The pointer is never null, even for empty input, because some libcrypto entry points treat a null key or password
/// differently from an empty one.
func withCryptoInput<R>(_ bytes: some Collection<UInt8>, _ body: (UnsafePointer<UInt8>, Int) -> R) -> R {
    let run: (UnsafeBufferPointer<UInt8>) -> R = { buffer in
        if let base = buffer.baseAddress { return body(base, buffer.count) }
        var placeholder: UInt8 = 0
        return withUnsafePointer(to: &placeholder) { body($0, 0) }
    }
    if let result = bytes.withContiguousStorageIfAvailable(run) { return result }
    return Array(bytes).withUnsafeBufferPointer(run)
}

/// `count` as a C `int`; lengths beyond that are far outside anything a credential can be.
private func cInt(_ count: Int) -> Int32 {
    guard let value = Int32(exactly: count) else { preconditionFailure("input of \(count) bytes is too long") }
    return value
}
