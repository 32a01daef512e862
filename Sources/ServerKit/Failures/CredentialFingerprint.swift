import SASLDB

/// A keyed fingerprint of a login name and the password tried with it, for ``AuthFailureTracker``: the same wrong
/// password retried (a phone with a saved old password) gives the same fingerprint and counts once, many different
/// passwords count many times.
///
/// It is an HMAC-SHA-256 under a key drawn at random once per process, so it cannot be reversed or compared across
/// restarts. Shared by SMTP AUTH and the password-change services, so both count failures by the same rule.
package enum CredentialFingerprint {
    /// The key of every fingerprint of this process.
    private static let key = secureRandomBytes(count: 32)

    /// The fingerprint of `material` (`login NUL password`; the caller zeroes it afterwards).
    package static func of(_ material: [UInt8]) -> [UInt8] {
        HashAlgorithm.sha256.hmac(key: key, material)
    }

    /// The fingerprint of a login name and a password.
    package static func of(login: [UInt8], password: [UInt8]) -> [UInt8] {
        // Built in storage of its final size: a copy left behind by growing it would hold the password.
        var material: [UInt8] = []
        material.reserveCapacity(login.count + 1 + password.count)
        material += login
        material.append(0)
        material += password
        defer { material.overwriteWithZeros() }
        return of(material)
    }
}
