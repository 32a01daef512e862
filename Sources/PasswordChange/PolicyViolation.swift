/// The rule a new password breaks. The ``description`` is written for the user who chose it.
public enum PolicyViolation: Error, Sendable, Equatable, CustomStringConvertible {
    /// Fewer characters than the minimum.
    case tooShort(minimum: Int)
    /// More characters than the maximum.
    case tooLong(maximum: Int)
    /// The bytes are not UTF-8.
    case notUTF8
    /// A control character (a tab, an escape, a NUL...), which some clients cannot type and others strip.
    case controlCharacter
    /// The same as the current password.
    case sameAsCurrent
    /// The login name, or the login name with its realm.
    case sameAsLogin
    /// On the list of common passwords.
    case common

    public var description: String {
        switch self {
        case .tooShort(let minimum): "the new password is too short: use at least \(minimum) characters"
        case .tooLong(let maximum): "the new password is too long: use at most \(maximum) characters"
        case .notUTF8: "the new password is not valid UTF-8 text"
        case .controlCharacter: "the new password contains a control character"
        case .sameAsCurrent: "the new password is the same as the current one"
        case .sameAsLogin: "the new password must not be the login name"
        case .common: "the new password is too common: it is on a list of passwords attackers try first"
        }
    }

    /// A short name for the audit log.
    public var rule: String {
        switch self {
        case .tooShort: "too-short"
        case .tooLong: "too-long"
        case .notUTF8: "not-utf8"
        case .controlCharacter: "control-character"
        case .sameAsCurrent: "same-as-current"
        case .sameAsLogin: "same-as-login"
        case .common: "common"
        }
    }
}
