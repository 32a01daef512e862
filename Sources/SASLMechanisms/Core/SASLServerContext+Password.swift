import SASLDB

extension SASLServerContext {
    /// Checks `password` for `user` the way PLAIN and LOGIN do, for every other place that takes a password (a
    /// password change must accept exactly the current password the SMTP server accepts).
    ///
    /// The sources are those of ``passwordSourceOrder``. In the store, unknown and disabled users have no secrets;
    /// the password is then checked against a stand-in shaped like the store's secrets
    /// (``CredentialLookup/secretPolicy``), so they cost what a real user costs, and the answer is `false` whatever it
    /// says. With ``PasswordSourceOrder/storeThenExternal`` a name the store does not hold at all (not even disabled)
    /// goes to ``passwordSource`` instead.
    ///
    /// - Throws: ``SASLFailure/temporary(reason:)`` when the store cannot be read, or the other source cannot answer
    ///   (or is missing).
    public func verify(password: [UInt8], for user: UserID) throws(SASLFailure) -> Bool {
        if passwordSourceOrder == .external { return try verifyExternally(password: password, for: user) }
        let secrets = try secrets(for: user)
        guard !secrets.isEmpty else {
            if passwordSourceOrder == .storeThenExternal, try !storeHolds(user) {
                return try verifyExternally(password: password, for: user)
            }
            _ = PasswordCheck.dummySecrets(for: user, policy: lookup.secretPolicy).verify(password: password)
            return false
        }
        return secrets.verify(password: password)
    }

    /// Whether ``verify(password:for:)`` answers at once for `user`, so that it may run on an event loop: the store
    /// alone checks passwords, the lookup holds the user's secrets in memory
    /// (``CredentialLookup/secretsInMemory(for:)``), and the check is a comparison with a plaintext (the stored one,
    /// or the stand-in of a store that writes plaintext); a verifier-only user costs a key derivation.
    public func passwordCheckIsImmediate(for user: UserID) -> Bool {
        guard passwordSourceOrder == .store, let secrets = lookup.secretsInMemory(for: user) else { return false }
        return secrets.isEmpty ? lookup.secretPolicy.plaintext : secrets.plaintext != nil
    }

    /// The name ``passwordSource`` knows `user` by: the bare user part for the default realm (a system account is
    /// `alice`, whether the client logged in as `alice` or `alice@<default realm>`), else `user@realm`.
    public func externalName(of user: UserID) -> String {
        user.realm == Array(defaultRealm.utf8) ? String(decoding: user.authid, as: UTF8.self) : user.description
    }

    /// The source whose threads must run `mechanism`'s next step: ``passwordSource`` when the order uses it and the
    /// mechanism is one whose client sends its password, else `nil` (the caller's own pool).
    public func passwordSourceRunning(_ mechanism: any SASLServerMechanism) -> (any PasswordSource)? {
        guard passwordSourceOrder != .store,
            SASLMechanismFactory.passwordMechanisms.contains(type(of: mechanism).name)
        else { return nil }
        return passwordSource
    }

    private func storeHolds(_ user: UserID) throws(SASLFailure) -> Bool {
        do {
            return try lookup.holds(user)
        } catch {
            throw .temporary(reason: "the credential store could not be read: \(error)")
        }
    }

    private func verifyExternally(password: [UInt8], for user: UserID) throws(SASLFailure) -> Bool {
        guard let passwordSource else {
            throw .temporary(reason: "the password source \(passwordSourceOrder.rawValue) has no source configured")
        }
        return try passwordSource.verify(password: password, name: externalName(of: user))
    }
}
