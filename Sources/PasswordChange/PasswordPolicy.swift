import SASLDB

/// The rules a new password must follow when a user changes their own password.
///
/// An administrator's `sasldb add` is not held to them: these rules protect users from weak choices of their own.
/// Lengths count Unicode scalars (what a user calls characters), so `pässwörd` has 8.
public struct PasswordPolicy: Sendable {
    /// The fewest characters a new password may have.
    public var minimumLength: Int
    /// The most characters a new password may have; bounded by `CredentialStore.maximumPasswordLength` bytes.
    public var maximumLength: Int
    /// Passwords attackers try first, refused whatever their length.
    public var commonPasswords: CommonPasswords

    /// The default minimum: NIST SP 800-63B's floor for passwords a user chooses.
    public static let defaultMinimumLength = 8
    /// The default maximum: room for any passphrase, far below what a key can hold.
    public static let defaultMaximumLength = 256

    /// Creates a policy.
    public init(
        minimumLength: Int = PasswordPolicy.defaultMinimumLength,
        maximumLength: Int = PasswordPolicy.defaultMaximumLength,
        commonPasswords: CommonPasswords = .builtin
    ) {
        self.minimumLength = minimumLength
        self.maximumLength = maximumLength
        self.commonPasswords = commonPasswords
    }

    /// Checks `new` for `user`, whose current password is `current`; returns the first rule it breaks.
    ///
    /// The checks never look at stored secrets, so a refusal tells the user nothing about them.
    public func violation(new: [UInt8], current: [UInt8]?, user: UserID) -> PolicyViolation? {
        guard let text = String(validating: new, as: UTF8.self) else { return .notUTF8 }
        if text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            return .controlCharacter
        }
        let length = text.unicodeScalars.count
        if length < minimumLength { return .tooShort(minimum: minimumLength) }
        if length > maximumLength || new.count > CredentialStore.maximumPasswordLength {
            return .tooLong(maximum: maximumLength)
        }
        if let current, constantTimeEqual(current, new) { return .sameAsCurrent }
        let folded = CommonPasswords.fold(text)
        let login = CommonPasswords.fold(String(decoding: user.authid, as: UTF8.self))
        if folded == login || folded == CommonPasswords.fold(user.description) { return .sameAsLogin }
        if commonPasswords.contains(folded: folded) { return .common }
        return nil
    }

    /// Checks the settings themselves.
    ///
    /// - Throws: ``PasswordChangeError/invalidConfiguration(_:)`` naming the setting.
    public func validate() throws(PasswordChangeError) {
        guard minimumLength >= 1 else {
            throw .invalidConfiguration("password_min_length must be at least 1")
        }
        guard maximumLength >= minimumLength, maximumLength <= CredentialStore.maximumPasswordLength else {
            throw .invalidConfiguration(
                "password_max_length must be between password_min_length and \(CredentialStore.maximumPasswordLength)"
            )
        }
    }
}
