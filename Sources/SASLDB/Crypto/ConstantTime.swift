import CCrypto

/// Whether `a` and `b` hold the same bytes, in time that depends only on their lengths.
///
/// Used wherever a secret or a value derived from one is compared, so that response timing does not reveal how many
/// leading bytes matched. Collections of different lengths compare unequal at once; only the length leaks.
package func constantTimeEqual(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
    guard a.count == b.count else { return false }
    guard !a.isEmpty else { return true }
    return withCryptoInput(a) { left, count in
        withCryptoInput(b) { right, _ in
            CRYPTO_memcmp(left, right, count) == 0
        }
    }
}
