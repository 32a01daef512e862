import NIOCore
import NIOPosix
import PasswordChange
import SASLDB
import ServerKit
import Synchronization

/// What stands between a poppassd request and the change: the local socket's rule that a user changes their own
/// password only, and the rate limits. The change itself goes through a ``PasswordChanging``: the privileged writer
/// when the daemon has one, else the ``PasswordChanger`` on a thread pool (the store's I/O blocks).
///
/// Failures are counted as SMTP AUTH counts them (``AuthFailureTracker``), twice: by client (its network, as
/// ``AuthFailurePolicy/clientKey(for:)`` groups addresses, or its uid on the local socket) and by user, so a guesser
/// spreading over many addresses still slows down on the user it attacks. Only a wrong current password (or a login
/// naming no user) counts, and the same wrong password retried counts once (``CredentialFingerprint``).
///
/// A wrong password is answered after the longer of the two delays, so a guesser slows down wherever it guesses from,
/// while a right one is answered at once. A client whose delay has reached ``AuthFailurePolicy/maximumDelay`` is
/// refused `throttled` without its password being checked; the user's count never refuses, so the owner, with the
/// right password from a client without failures, always changes it: nobody who knows only a login can block its
/// owner.
final class PasswordChangeGate: Sendable {
    /// Failures per client.
    let clientFailures: AuthFailureTracker
    /// Failures per user (`authid@realm`).
    let userFailures: AuthFailureTracker
    /// Maps logins for the local socket's rule and audits refusals decided here; changes too, without a writer.
    private let changer: Mutex<PasswordChanger>
    private let writer: (any PasswordChanging)?
    private let threadPool: NIOThreadPool
    private let accountName: @Sendable (UInt32) -> String?

    /// Creates a gate.
    ///
    /// - Parameters:
    ///   - changer: the changer (replaced by ``replaceChanger(_:)`` on reload).
    ///   - writer: what makes the changes instead of `changer`, `nil` for `changer` itself.
    ///   - failurePolicy: the delays after failures, for both trackers.
    ///   - threadPool: where the changer runs.
    ///   - accountName: the account name of a uid (`getpwuid`), for the local socket's rule.
    init(
        changer: PasswordChanger,
        writer: (any PasswordChanging)?,
        failurePolicy: AuthFailurePolicy,
        threadPool: NIOThreadPool,
        accountName: @escaping @Sendable (UInt32) -> String?
    ) {
        self.changer = Mutex(changer)
        self.writer = writer
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
        let clientKey = client.failureKey(grouping: clientFailures.policy)
        if clientFailures.delay(for: clientKey) >= clientFailures.policy.maximumDelay {
            changer.recordRefusal(login: request.login, origin: client.origin, error: .throttled)
            return .throttled
        }
        let changing = writer ?? ThreadPoolPasswordChanger(changer: changer, threadPool: threadPool)
        let outcome: PasswordChangeError?
        do throws(PasswordChangeError) {
            try await changing.change(
                login: request.login,
                current: request.current,
                new: request.new,
                origin: client.origin
            )
            outcome = nil
        } catch {
            outcome = error
        }
        if outcome == .authenticationFailed || outcome == .invalidLogin {
            let fingerprint = CredentialFingerprint.of(login: request.login, password: request.current)
            let delay = max(
                clientFailures.recordFailure(from: clientKey, fingerprint: fingerprint),
                user.map { userFailures.recordFailure(from: $0.description, fingerprint: fingerprint) } ?? .zero
            )
            if delay > .zero { try? await Task.sleep(nanoseconds: UInt64(delay.nanoseconds)) }
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
