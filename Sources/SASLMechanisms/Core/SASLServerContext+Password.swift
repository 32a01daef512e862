import SASLDB

extension SASLServerContext {
    /// Checks `password` for `user` the way PLAIN and LOGIN do, for every other place that takes a password (a
    /// password change must accept exactly the current password the SMTP server accepts).
    ///
    /// Unknown and disabled users have no secrets; the password is then checked against a stand-in shaped like the
    /// store's secrets (``CredentialLookup/secretPolicy``), so they cost what a real user costs, and the answer is
    /// `false` whatever it says.
    ///
    /// - Throws: ``SASLFailure/temporary(reason:)`` when the store cannot be read.
    public func verify(password: [UInt8], for user: UserID) throws(SASLFailure) -> Bool {
        let secrets = try secrets(for: user)
        guard !secrets.isEmpty else {
            _ = PasswordCheck.dummySecrets(for: user, policy: lookup.secretPolicy).verify(password: password)
            return false
        }
        return secrets.verify(password: password)
    }
}
