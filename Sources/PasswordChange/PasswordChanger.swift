import SASLDB
import SASLMechanisms

/// Changes users' own passwords: the one piece behind the `sasldb passwd` command, the daemon's local socket, its
/// poppassd service and the `chgsaslpasswd` drop-in.
///
/// A change checks the current password exactly as the SMTP server's PLAIN and LOGIN do, applies the
/// ``PasswordPolicy``, writes every secret of the user in one atomic batch under the store's `SecretPolicy`, and
/// hands an audit record to ``audit`` whatever the outcome. The next SMTP AUTH sees the new password: the server reads
/// the store per lookup.
public struct PasswordChanger: Sendable {
    /// Where the secrets live.
    public let store: CredentialStore
    /// The rules for new passwords.
    public let policy: PasswordPolicy
    /// Where audit records go (the daemon's log, syslog for the command).
    public let audit: @Sendable (PasswordChangeAudit) -> Void
    private let context: SASLServerContext

    /// Creates a changer.
    ///
    /// - Parameters:
    ///   - store: the credential store.
    ///   - defaultRealm: the realm of a login without `@`, as the SMTP server maps it.
    ///   - policy: the rules for new passwords.
    ///   - audit: receives one record per attempt.
    public init(
        store: CredentialStore,
        defaultRealm: String,
        policy: PasswordPolicy = PasswordPolicy(),
        audit: @escaping @Sendable (PasswordChangeAudit) -> Void
    ) {
        self.store = store
        self.policy = policy
        self.audit = audit
        context = SASLServerContext(lookup: store, hostName: defaultRealm, defaultRealm: defaultRealm)
    }

    /// The user a login name names, mapped as the SMTP server maps it (split at the first `@`, else the default
    /// realm).
    public func user(forLogin login: [UInt8]) throws(PasswordChangeError) -> UserID {
        do {
            return try context.user(forLogin: login)
        } catch {
            throw .invalidLogin
        }
    }

    /// Changes the password of `login` from `current` to `new`.
    ///
    /// The current password is checked first, so the policy's answer is given only to someone who knows it.
    ///
    /// - Parameter origin: where the request came from, for the audit record.
    /// - Returns: the user whose password changed.
    /// - Throws: ``PasswordChangeError``; nothing is written unless it returns.
    @discardableResult
    public func change(
        login: [UInt8],
        current: [UInt8],
        new: [UInt8],
        origin: String
    ) throws(PasswordChangeError) -> UserID {
        try recording(login: login, origin: origin) { user throws(PasswordChangeError) in
            let matched: Bool
            do {
                matched = try context.verify(password: current, for: user)
            } catch {
                throw .unavailable(reason: "\(error)")
            }
            guard matched else { throw .authenticationFailed }
            try write(new, for: user, current: current)
        }
    }

    /// Sets a new password without the current one, for callers that checked it themselves (a webmail that runs
    /// `chgsaslpasswd` after its own login) or administrators. The user must exist and the policy still applies.
    @discardableResult
    public func reset(login: [UInt8], new: [UInt8], origin: String) throws(PasswordChangeError) -> UserID {
        try recording(login: login, origin: origin) { user throws(PasswordChangeError) in
            let exists: Bool
            do {
                exists = try store.exists(user)
            } catch {
                throw .unavailable(reason: "\(error)")
            }
            guard exists else { throw .authenticationFailed }
            try write(new, for: user, current: nil)
        }
    }

    /// Records a refusal decided before the changer was asked (a throttle, a caller's rights).
    public func recordRefusal(login: [UInt8], origin: String, error: PasswordChangeError) {
        audit(PasswordChangeAudit(user: auditName(login), origin: origin, outcome: .refused(error)))
    }

    private func write(_ new: [UInt8], for user: UserID, current: [UInt8]?) throws(PasswordChangeError) {
        if let violation = policy.violation(new: new, current: current, user: user) { throw .policy(violation) }
        do {
            try store.setPassword(new, for: user)
        } catch {
            throw .unavailable(reason: "\(error)")
        }
    }

    private func recording(
        login: [UInt8],
        origin: String,
        _ body: (UserID) throws(PasswordChangeError) -> Void
    ) throws(PasswordChangeError) -> UserID {
        do {
            let user = try user(forLogin: login)
            try body(user)
            audit(PasswordChangeAudit(user: user.description, origin: origin, outcome: .changed))
            return user
        } catch {
            audit(PasswordChangeAudit(user: auditName(login), origin: origin, outcome: .refused(error)))
            throw error
        }
    }

    /// The login as the audit shows it: the mapped user, or a marker for a name that does not parse (which may be
    /// a password typed into the wrong field, so it is not logged).
    private func auditName(_ login: [UInt8]) -> String {
        (try? context.user(forLogin: login))?.description ?? "(invalid)"
    }
}
