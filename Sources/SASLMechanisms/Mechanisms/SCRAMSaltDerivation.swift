import SASLDB

/// The salt the server announces for a user without a stored verifier.
///
/// It must be the same on every attempt (a salt that changes would tell an unknown user from a known one) and must
/// not be predictable from outside (or a precomputed dictionary would work for plaintext users), hence an HMAC under a
/// random key drawn once per process. The mechanism name is part of the input so that comparing the salts of the two
/// hashes says nothing either.
package enum SCRAMSaltDerivation {
    private static let key = secureRandomBytes(count: 32)

    /// The first ``SCRAMVerifier/saltLength`` bytes of HMAC-SHA-256(key, mechanism NUL authid NUL realm).
    package static func salt(hash: SCRAMHash, user: UserID) -> [UInt8] {
        let input = Array(hash.mechanismName.utf8) + [0] + user.authid + [0] + user.realm
        return Array(HashAlgorithm.sha256.hmac(key: key, input).prefix(SCRAMVerifier.saltLength))
    }
}
