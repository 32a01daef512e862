import CCrypto

/// Cryptographically secure random bytes from libcrypto's DRBG, for salts and nonces.
package enum SecureRandom {
    /// `count` fresh random bytes.
    ///
    /// A failing `RAND_bytes` means the system has no usable entropy source; continuing would write predictable salts, so
    /// the process stops instead.
    package static func bytes(count: Int) -> [UInt8] {
        precondition(count >= 0, "negative random byte count")
        var output = [UInt8](repeating: 0, count: count)
        output.withUnsafeMutableBufferPointer { fill($0) }
        return output
    }

    /// Overwrites every byte of `buffer` with random data.
    package static func fill(_ buffer: UnsafeMutableBufferPointer<UInt8>) {
        guard var next = buffer.baseAddress else { return }
        var remaining = buffer.count
        // RAND_bytes takes an int length, so very large buffers are filled in pieces.
        while remaining > 0 {
            let chunk = min(remaining, 1 << 20)
            guard RAND_bytes(next, Int32(chunk)) == 1 else {
                preconditionFailure("RAND_bytes failed: libcrypto has no working random source")
            }
            next += chunk
            remaining -= chunk
        }
    }
}

/// `count` fresh random bytes; see ``SecureRandom/bytes(count:)``.
package func secureRandomBytes(count: Int) -> [UInt8] {
    SecureRandom.bytes(count: count)
}
