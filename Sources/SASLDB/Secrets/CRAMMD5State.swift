import CCrypto

/// The `cmusaslsecretCRAM-MD5` value: HMAC-MD5 precomputed over the password (Cyrus's `HMAC_MD5_STATE`).
///
/// 32 bytes: the MD5 chaining words A, B, C, D after compressing the inner pad block `K ⊕ 0x36…`, then the same four
/// words for the outer pad block `K ⊕ 0x5c…`, each word big-endian. Only MD5's low-level API exposes these words, which
/// is why this type uses `MD5_Transform` instead of the EVP interface.
public struct CRAMMD5State: Sendable {
    /// The length of a stored state.
    public static let byteCount = 32

    /// The stored value.
    public let bytes: [UInt8]

    /// Wraps a stored value; `nil` unless it is exactly 32 bytes.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Self.byteCount else { return nil }
        self.bytes = Array(bytes)
    }

    /// Precomputes the state for `password`, as Cyrus's `hmac_md5_precalc` does.
    public init(password: some Collection<UInt8>) {
        // RFC 2104: keys longer than the 64-byte block are replaced by their digest. The block is filled in place,
        // never grown (a move would leave a copy of the password behind), and wiped with both pads once compressed.
        var key = [UInt8](repeating: 0, count: 64)
        if password.count > 64 {
            var digest = HashAlgorithm.md5.digest(password)
            key.replaceSubrange(0..<digest.count, with: digest)
            digest.overwriteWithZeros()
        } else {
            key.replaceSubrange(0..<password.count, with: password)
        }
        var inner = key.map { $0 ^ 0x36 }
        var outer = key.map { $0 ^ 0x5c }
        key.overwriteWithZeros()
        let words = Self.compress(inner) + Self.compress(outer)
        inner.overwriteWithZeros()
        outer.overwriteWithZeros()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.byteCount)
        for word in words {
            bytes += [UInt8(truncatingIfNeeded: word >> 24), UInt8(truncatingIfNeeded: word >> 16)]
            bytes += [UInt8(truncatingIfNeeded: word >> 8), UInt8(truncatingIfNeeded: word)]
        }
        self.bytes = bytes
    }

    /// HMAC-MD5(password, `challenge`), continuing the stored state the way the Cyrus server does.
    public func hmac(challenge: some Collection<UInt8>) -> [UInt8] {
        let inner = resume(wordsAt: 0, appending: challenge)
        return resume(wordsAt: 16, appending: inner)
    }

    /// Whether this state was computed from `password`, compared in constant time.
    public func matches(password: some Collection<UInt8>) -> Bool {
        constantTimeEqual(bytes, CRAMMD5State(password: password).bytes)
    }

    /// The chaining words after one MD5 compression of `block` from the standard IV, with no finalisation.
    private static func compress(_ block: [UInt8]) -> [UInt32] {
        var context = MD5_CTX()
        guard MD5_Init(&context) == 1 else { preconditionFailure("MD5_Init failed") }
        block.withUnsafeBufferPointer { MD5_Transform(&context, $0.baseAddress) }
        return [context.A, context.B, context.C, context.D]
    }

    /// Finishes an MD5 whose first 64-byte block is already absorbed into the four words at `offset`.
    private func resume(wordsAt offset: Int, appending data: some Collection<UInt8>) -> [UInt8] {
        var context = MD5_CTX()
        context.A = word(at: offset)
        context.B = word(at: offset + 4)
        context.C = word(at: offset + 8)
        context.D = word(at: offset + 12)
        // One block of 512 bits has been hashed and nothing is buffered, so the final length field counts it.
        context.Nl = 512
        context.Nh = 0
        context.num = 0
        let updated = withCryptoInput(data) { pointer, count in MD5_Update(&context, pointer, count) }
        var digest = [UInt8](repeating: 0, count: 16)
        let finished = digest.withUnsafeMutableBufferPointer { MD5_Final($0.baseAddress, &context) }
        guard updated == 1, finished == 1 else { preconditionFailure("MD5_Update/MD5_Final failed") }
        return digest
    }

    private func word(at offset: Int) -> UInt32 {
        bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }
}
