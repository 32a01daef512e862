/// Why a password change did not happen. The ``description`` may be shown to the user who asked.
public enum PasswordChangeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Wrong current password, unknown user or disabled user: one case, so a caller cannot tell them apart.
    case authenticationFailed
    /// The login name cannot name a user (empty, NUL, too long, not UTF-8).
    case invalidLogin
    /// The new password breaks a rule of the policy.
    case policy(PolicyViolation)
    /// The caller may not change this user's password (the local socket allows a user their own account only).
    case notPermitted
    /// Too many failures from this client or for this user: try again later.
    case throttled
    /// The store could not be read or written; nothing changed. `reason` is for the log, not for the user.
    case unavailable(reason: String)
    /// A setting of the policy is wrong.
    case invalidConfiguration(String)

    public var description: String {
        switch self {
        case .authenticationFailed: "the current password is not right"
        case .invalidLogin: "the login name is not valid"
        case .policy(let violation): violation.description
        case .notPermitted: "you may change the password of your own account only"
        case .throttled: "too many failed attempts: try again later"
        case .unavailable: "the password could not be changed now: try again later"
        case .invalidConfiguration(let message): message
        }
    }
}
