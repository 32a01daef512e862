import SASLDB
import SASLMechanisms
import ServerKit

/// Checks passwords with the system's PAM stack, as `saslauthd -a pam` and Dovecot's `passdb pam` do: a second
/// `PasswordSource` for PLAIN and LOGIN, besides the credential store.
///
/// Each check is one PAM transaction (`pam_start` to `pam_end`) on a thread of this source's own bounded set: at most
/// ``threads`` run at once, and a check beyond them fails at once with `SASLFailure.temporary(reason:)` (the client
/// hears 454 and tries later), so a slow PAM stack can neither block an event loop nor build a queue without end. The
/// delay PAM modules ask for after a failure is not slept on those threads; the server's own pause after a failed
/// AUTH, which holds no thread, takes its place.
///
/// Which accounts and passwords PAM accepts is the stack's business (`/etc/pam.d/<service>`); reading `/etc/shadow`
/// through `pam_unix` needs root or group `shadow` (`sasl-smtpd(8)` says which to choose).
public struct PAMPasswordSource: PasswordSource {
    /// The PAM service name: the file in `/etc/pam.d` whose stack checks the passwords.
    public let service: String
    /// The most checks running at once.
    public var threads: Int { work.limit }

    private let work: BoundedBlockingWork

    /// Creates a source.
    ///
    /// - Parameters:
    ///   - service: the PAM service name, `sasl-smtpd` by default.
    ///   - threads: the most checks running at once (at least one).
    public init(service: String = PAMPasswordSource.defaultService, threads: Int = PAMPasswordSource.defaultThreads) {
        self.service = service
        self.work = BoundedBlockingWork(limit: threads)
    }

    /// `sasl-smtpd`, the service whose stack the package installs in `/etc/pam.d`.
    public static let defaultService = "sasl-smtpd"

    /// Four checks at once: PAM's `pam_unix` takes a few milliseconds, so four threads serve hundreds of logins a
    /// second, while a stuck directory server holds up no more than four.
    public static let defaultThreads = 4

    /// Runs the PAM stack for `name` with `password`.
    ///
    /// A password holding a NUL byte (possible through LOGIN) is refused without asking PAM, which takes C strings and
    /// would check only the part before it.
    ///
    /// - Throws: `SASLFailure.temporary(reason:)` when PAM cannot decide (`PAM_AUTHINFO_UNAVAIL`, a broken stack).
    public func verify(password: [UInt8], name: String) throws(SASLFailure) -> Bool {
        guard !password.contains(0), !name.utf8.contains(0) else { return false }
        switch PAMTransaction(service: service).check(name: name, password: password).verdict {
        case .accepted:
            return true
        case .refused:
            return false
        case .unavailable(let code):
            throw .temporary(reason: "PAM service \(service) could not decide: \(PAMTransaction.describe(code))")
        }
    }

    /// Runs `check` on one of this source's threads.
    ///
    /// - Throws: `SASLFailure.temporary(reason:)` when all ``threads`` are busy.
    public func run<Result: Sendable>(_ check: @escaping @Sendable () -> Result) async throws(SASLFailure) -> Result {
        do throws(BoundedBlockingWork.Busy) {
            return try await work.run(check)
        } catch {
            throw .temporary(reason: "all \(error.limit) PAM threads are busy")
        }
    }
}
