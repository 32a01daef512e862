import SASLDB

/// A place besides the credential store that checks passwords for PLAIN and LOGIN: the system's PAM stack, as
/// `saslauthd -a pam` and Dovecot's `passdb pam` offer.
///
/// Such a source holds no stored secrets, so only the mechanisms whose client sends its password can use it
/// (``SASLMechanismFactory/passwordMechanisms``). A check may block for long (a PAM module asking a remote
/// directory), so a source names the threads its checks run on (``run(_:)``): never an event loop, and not the pool
/// that serves the store's lookups.
public protocol PasswordSource: Sendable {
    /// Checks `password` for the account `name`.
    ///
    /// - Parameters:
    ///   - password: the password as the client sent it; the source zeroes every copy it makes.
    ///   - name: the account name: the login's user part when its realm is the server's default realm, else
    ///     `user@realm` (``SASLServerContext/externalName(of:)``).
    /// - Returns: `true` for the right password of an account that may log in now; `false` for a wrong password, an
    ///   unknown account or one that may not log in, deliberately alike.
    /// - Throws: ``SASLFailure/temporary(reason:)`` when the source cannot answer now.
    func verify(password: [UInt8], name: String) throws(SASLFailure) -> Bool

    /// Runs `check` (a mechanism step that calls ``verify(password:name:)``) on the threads this source's checks use.
    ///
    /// - Throws: ``SASLFailure/temporary(reason:)`` without running `check` when every thread is busy: the client
    ///   is told to try again later instead of waiting in a queue of unbounded length.
    func run<Result: Sendable>(_ check: @escaping @Sendable () -> Result) async throws(SASLFailure) -> Result
}
