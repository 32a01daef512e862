import SASLDB

/// The password check PLAIN and LOGIN share: verify, then authorise, with the same failure and comparable work for
/// an unknown user, a disabled user and a wrong password.
enum PasswordCheck {
    /// The one reason every failed password check gives, so that not even a log line or a value compared by an
    /// embedder tells an unknown user from a wrong password. `sasldb list` tells an administrator which it was.
    static let failureReason = "wrong password, unknown user or disabled user"

    /// Checks `password` for `user`, then the authorization identity.
    static func authenticate(
        user: UserID,
        login: [UInt8],
        password: [UInt8],
        authorizationID: [UInt8],
        context: SASLServerContext
    ) -> SASLStep {
        do throws(SASLFailure) {
            guard try context.verify(password: password, for: user) else {
                return .failure(.authenticationFailed(reason: failureReason))
            }
            let authorized = try context.authorizationID(authorizationID, for: user, login: login)
            return .success(AuthenticatedIdentity(user: user, authorizationID: authorized))
        } catch {
            return .failure(error)
        }
    }

    /// Secrets shaped like the ones a store with `policy` writes, which no password matches.
    ///
    /// ``UserSecrets/verify(password:)`` on empty secrets only compares 16 bytes, while a user of a store without
    /// plaintext costs a PBKDF2 run: that gap would tell a remote guesser which names exist. The lookup's
    /// ``CredentialLookup/secretPolicy`` says what a real user holds.
    static func dummySecrets(for user: UserID, policy: SecretPolicy) -> UserSecrets {
        var secrets = UserSecrets(user: user, values: [:])
        if policy.plaintext {
            secrets.plaintext = dummyPassword
            // Cyrus and UserSecrets use the plaintext alone when it exists, so nothing else would be computed.
            return secrets
        }
        if policy.cramMD5 { secrets.cramMD5 = CRAMMD5State(bytes: repeatElement(0, count: CRAMMD5State.byteCount)) }
        if policy.digestMD5 { secrets.digestMD5 = [UInt8](repeating: 0, count: DigestMD5Secret.byteCount) }
        if let hash = policy.scram {
            // All-zero keys: no password derives them, and building them costs no PBKDF2 run of its own.
            let zeros = [UInt8](repeating: 0, count: hash.digestLength)
            secrets.scram = try? SCRAMVerifier(
                hash: hash,
                iterations: policy.scramIterations,
                salt: [UInt8](repeating: 0x5a, count: SCRAMVerifier.saltLength),
                storedKey: zeros,
                serverKey: zeros
            )
        }
        return secrets
    }

    /// The stand-in plaintext; its value does not matter, since a match is discarded.
    private static let dummyPassword = [UInt8](repeating: 0x5a, count: 16)

}
