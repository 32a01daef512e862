import CFuzzSupport

/// Digests computed by OpenSSL directly, independently of the library's own code, to build the answers a real client
/// would send and to check the server's answers.
public enum FuzzHash: Sendable {
    case md5, sha1, sha256

    private var md: OpaquePointer? {
        switch self {
        case .md5: return EVP_md5()
        case .sha1: return EVP_sha1()
        case .sha256: return EVP_sha256()
        }
    }

    /// The digest length in bytes.
    public var length: Int {
        switch self {
        case .md5: return 16
        case .sha1: return 20
        case .sha256: return 32
        }
    }

    /// H(data).
    public func digest(_ data: [UInt8]) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let ok = data.withUnsafeBufferPointer { input in
            EVP_Digest(input.baseAddress, input.count, &output, &length, md, nil)
        }
        precondition(ok == 1, "EVP_Digest failed")
        return Array(output.prefix(Int(length)))
    }

    /// HMAC(key, data).
    public func hmac(key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        // A non-null key pointer even for an empty key (HMAC treats NULL as "reuse the previous key").
        let keyStorage = key.isEmpty ? [0] : key
        let result = keyStorage.withUnsafeBufferPointer { keyBuffer in
            data.withUnsafeBufferPointer { input in
                HMAC(
                    md,
                    keyBuffer.baseAddress,
                    Int32(key.count),
                    input.baseAddress,
                    input.count,
                    &output,
                    &length
                )
            }
        }
        precondition(result != nil, "HMAC failed")
        return Array(output.prefix(Int(length)))
    }

    /// PBKDF2-HMAC(password, salt, iterations), one digest long: SCRAM's SaltedPassword.
    public func pbkdf2(password: [UInt8], salt: [UInt8], iterations: Int) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: length)
        let ok = password.withUnsafeBufferPointer { password in
            salt.withUnsafeBufferPointer { salt in
                password.withMemoryRebound(to: CChar.self) { password in
                    PKCS5_PBKDF2_HMAC(
                        password.baseAddress,
                        Int32(password.count),
                        salt.baseAddress,
                        Int32(salt.count),
                        Int32(iterations),
                        md,
                        Int32(length),
                        &output
                    )
                }
            }
        }
        precondition(ok == 1, "PKCS5_PBKDF2_HMAC failed")
        return output
    }
}

/// Lowercase hex.
public func hex(_ bytes: [UInt8]) -> [UInt8] {
    let digits = Array("0123456789abcdef".utf8)
    return bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xf)]] }
}

private let base64Alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

/// Standard padded base64.
public func base64(_ bytes: [UInt8]) -> [UInt8] {
    var output: [UInt8] = []
    var index = 0
    while index < bytes.count {
        let chunk = Array(bytes[index..<min(index + 3, bytes.count)])
        let value = chunk.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (16 - 8 * $1.offset) }
        for position in 0..<4 {
            output.append(
                position <= chunk.count ? base64Alphabet[Int((value >> (18 - 6 * position)) & 0x3f)] : UInt8(ascii: "=")
            )
        }
        index += 3
    }
    return output
}

/// Decodes standard base64, leniently (the input is a server-made value); `nil` on a character outside the alphabet.
public func base64Decode(_ text: some Collection<UInt8>) -> [UInt8]? {
    var output: [UInt8] = []
    var buffer: UInt32 = 0
    var bits = 0
    for character in text where character != UInt8(ascii: "=") {
        guard let value = base64Alphabet.firstIndex(of: character) else { return nil }
        buffer = buffer << 6 | UInt32(value)
        bits += 6
        if bits >= 8 {
            bits -= 8
            output.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
        }
    }
    return output
}
