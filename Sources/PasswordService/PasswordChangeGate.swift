import NIOCore
import NIOPosix
import PasswordChange
import SASLDB
import SMTPSubmission
import Synchronization

/// What stands between a poppassd request and the ``PasswordChanger``: the local socket's rule that a user changes
/// their own password only, the rate limits, and a thread off the event loop for the store's blocking I/O.
///
/// Failures are counted as SMTP AUTH counts them (``AuthFailureTracker``), twice: by client (IP address, or uid on the
/// local socket) and by user, so a guesser spreading over many addresses still slows down on the user it attacks.
/// Only a wrong current password (or a login naming no user) counts, and the same wrong password retried counts once
/// (``CredentialFingerprint``). A request waits the longer of the two delays before its password is checked; once a
/// delay has reached ``AuthFailurePolicy/maximumDelay`` the request is refused `throttled` without being checked.
/// The price: a guesser can keep a user from changing their password for ``AuthFailurePolicy/memory``, never from
/// logging in.
final class PasswordChangeGate: Sendable {
    /// Failures per client.
    let clientFailures: AuthFailureTracker
    /// Failures per user (`authid@realm`).
    let userFailures: AuthFailureTracker
    private let changer: Mutex<PasswordChanger>
    private let threadPool: NIOThreadPool
    private let accountName: @Sendable (UInt32) -> String?

    /// Creates a gate.
    ///
    /// - Parameters:
    ///   - changer: the changer (replaced by ``replaceChanger(_:)`` on reload).
    ///   - failurePolicy: the delays after failures, for both trackers.
    ///   - threadPool: where the changer runs.
    ///   - accountName: the account name of a uid (`getpwuid`), for the local socket's rule.
    init(
        changer: PasswordChanger,
        failurePolicy: AuthFailurePolicy,
        threadPool: NIOThreadPool,
        accountName: @escaping @Sendable (UInt32) -> String?
    ) {
        self.changer = Mutex(changer)
        self.clientFailures = AuthFailureTracker(policy: failurePolicy)
        self.userFailures = AuthFailureTracker(policy: failurePolicy)
        self.threadPool = threadPool
        self.accountName = accountName
    }

    /// Uses `changer` (a new policy, store or realm) for requests from now on.
    func replaceChanger(_ changer: PasswordChanger) {
        self.changer.withLock { $0 = changer }
    }

    /// Runs one request through the rules and, if they let it, the changer; every outcome is audited once.
    ///
    /// - Returns: `nil` when the password changed, else why not.
    func change(_ request: PoppassdChangeRequest, from client: PoppassdClient) async -> PasswordChangeError? {
        var request = request
        defer { request.erase() }
        let changer = self.changer.withLock { $0 }
        let user = try? changer.user(forLogin: request.login)
        if let refusal = refusal(of: user, to: client, changer: changer) {
            changer.recordRefusal(login: request.login, origin: client.origin, error: refusal)
            return refusal
        }
        let delay = max(
            clientFailures.delay(for: client.failureKey),
            user.map { userFailures.delay(for: $0.description) } ?? .zero
        )
        if delay >= clientFailures.policy.maximumDelay {
            changer.recordRefusal(login: request.login, origin: client.origin, error: .throttled)
            return .throttled
        }
        if delay > .zero { try? await Task.sleep(nanoseconds: UInt64(delay.nanoseconds)) }
        let work = request
        let outcome: PasswordChangeError?
        do {
            outcome = try await threadPool.runIfActive { () -> PasswordChangeError? in
                do throws(PasswordChangeError) {
                    try changer.change(login: work.login, current: work.current, new: work.new, origin: client.origin)
                    return nil
                } catch {
                    return error
                }
            }
        } catch {
            let failure = PasswordChangeError.unavailable(reason: "the thread pool has stopped")
            changer.recordRefusal(login: request.login, origin: client.origin, error: failure)
            return failure
        }
        if outcome == .authenticationFailed || outcome == .invalidLogin {
            let fingerprint = CredentialFingerprint.of(login: request.login, password: request.current)
            clientFailures.recordFailure(from: client.failureKey, fingerprint: fingerprint)
            if let user { userFailures.recordFailure(from: user.description, fingerprint: fingerprint) }
        }
        return outcome
    }

    /// The local socket lets root change any password and any other uid only its own account's: the login must map
    /// to the same user as the uid's account name does (`alice` and `alice@<default realm>` both name it).
    private func refusal(of user: UserID?, to client: PoppassdClient, changer: PasswordChanger) -> PasswordChangeError?
    {
        guard case .local(let uid) = client, uid != 0 else { return nil }
        guard let name = accountName(uid), let own = try? changer.user(forLogin: Array(name.utf8)), own == user else {
            return .notPermitted
        }
        return nil
    }
}
