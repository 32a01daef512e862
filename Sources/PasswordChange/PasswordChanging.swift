/// Something that changes a user's password given the current one: the ``PasswordChanger`` itself (run off the
/// caller's thread), or a client of a privileged process that runs one.
///
/// The daemon's password services call through this, so whether the store is written in-process or by a separate
/// root process is decided once at start-up. Whatever implements it checks the current password itself and audits
/// the outcome.
public protocol PasswordChanging: Sendable {
    /// Changes the password of `login` from `current` to `new`.
    ///
    /// - Parameters:
    ///   - login: the login name as the client sent it.
    ///   - current: the current password.
    ///   - new: the new password.
    ///   - origin: where the request came from, for the audit record.
    /// - Throws: ``PasswordChangeError``; nothing is written unless it returns.
    func change(login: [UInt8], current: [UInt8], new: [UInt8], origin: String) async throws(PasswordChangeError)
}
