import SASLDB

/// One audit record: who asked to change which user's password, through what, and what happened. Never a password.
public struct PasswordChangeAudit: Sendable, Equatable, CustomStringConvertible {
    /// What happened.
    public enum Outcome: Sendable, Equatable {
        /// The password was changed.
        case changed
        /// Refused: the current password, the policy, the caller's rights or the throttle.
        case refused(PasswordChangeError)
    }

    /// The user as named by the request: `authid@realm` when the login parsed, else a placeholder.
    public var user: String
    /// Where the request came from: `poppassd client=192.0.2.7`, `socket uid=1000`, `command uid=1000`...
    public var origin: String
    /// The outcome.
    public var outcome: Outcome

    /// Creates a record.
    public init(user: String, origin: String, outcome: Outcome) {
        self.user = user
        self.origin = origin
        self.outcome = outcome
    }

    /// A `key=value` log line, every value from the request escaped (``logToken(_:)``), so that syslog gets one line
    /// with the fields it claims whatever the login held.
    public var description: String {
        let result: String
        switch outcome {
        case .changed: result = "result=changed"
        case .refused(.policy(let violation)): result = "result=refused rule=\(logToken(violation.rule))"
        case .refused(.authenticationFailed): result = "result=refused reason=authentication-failed"
        case .refused(.unavailable(let reason)): result = "result=failed reason=\(logToken(reason))"
        case .refused(let error): result = "result=refused reason=\(logToken("\(error)"))"
        }
        return "password change user=\(logToken(user)) \(origin) \(result)"
    }
}
