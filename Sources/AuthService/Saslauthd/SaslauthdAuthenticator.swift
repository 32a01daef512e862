import NIOCore
import NIOPosix
import SASLDB
import SASLMechanisms
import ServerKit
import Synchronization

/// Checks saslauthd requests against the credential store, the way `saslauthd -a sasldb` does, with the failure
/// throttling of every other login of the daemon.
///
/// **Names.** libsasl splits `user@realm` at the last `@` and sends the two parts apart; `saslauthd -a sasldb` then
/// looks up exactly that user in exactly that realm, and so does this type. A request with an empty realm (a client
/// that does not split, `testsaslauthd` without `-r`) is mapped as an SMTP login is: `user@realm` at the first `@`,
/// a bare name in the default realm (Cyrus takes the host name there, which is our default realm unless the site set
/// another).
///
/// **Passwords.** The plaintext is checked by `SASLServerContext.verify(password:for:)`, PLAIN's own
/// check: a user stored with verifiers only (no `userPassword`) is accepted too, and an unknown user costs what a
/// real one costs, so neither the answer nor its time tells a guesser which names exist.
///
/// **Throttling**, by the rules of SMTP AUTH and in the trackers the daemon shares with its SMTP listener, so a client
/// guessing through Postfix and through our submission port is counted once. When the peer sends the client's address
/// (libsasl's `ip;port`; Postfix's Cyrus glue sends none), failures are counted under it, and a request from an
/// address with failures waits its delay before the check. Every refusal is also counted under the account it names
/// (`authid@realm`), which slows a guesser spread over many addresses, or hidden behind an MTA that sends no address:
/// a refusal is answered only after the longer of the two delays it earned. A right password is never delayed by the
/// account's count.
public final class SaslauthdAuthenticator: Sendable {
    private let context: Mutex<SASLServerContext>
    private let failures: AuthFailureTracker?
    private let accountFailures: AuthFailureTracker?
    private let threadPool: NIOThreadPool

    /// Creates an authenticator.
    ///
    /// - Parameters:
    ///   - context: the store and the default realm (the realm of a request that names none).
    ///   - failures: where failures are counted per client address, `nil` for none.
    ///   - accountFailures: where failures are counted per account, `nil` for none.
    ///   - threadPool: where checks run, off the event loops; the process-wide singleton by default, as SMTP AUTH.
    public init(
        context: SASLServerContext,
        failures: AuthFailureTracker?,
        accountFailures: AuthFailureTracker? = nil,
        threadPool: NIOThreadPool = .singleton
    ) {
        self.threadPool = threadPool
        self.context = Mutex(context)
        self.failures = failures
        self.accountFailures = accountFailures
    }

    /// Uses `context` (a new store or default realm, on reload) for the requests that start from now on.
    public func updateContext(_ context: SASLServerContext) {
        self.context.withLock { $0 = context }
    }

    /// Checks `request`: waits the delay its client address has earned, checks the password, and counts a refusal
    /// under the client's address and the account, answering it after the delay they earned. The future completes
    /// on `eventLoop`. The check runs there when it answers at once (the store holds the user's secrets in memory and
    /// they hold a plaintext: ``SASLServerContext/passwordCheckIsImmediate(for:)``), else on the thread pool (it
    /// reads the store or runs PBKDF2): each hop between threads costs more than the check of a stored plaintext.
    public func authenticate(
        _ request: SaslauthdRequest,
        on eventLoop: any EventLoop
    ) -> EventLoopFuture<SaslauthdVerdict> {
        let key = clientKey(of: request)
        let admission = key.flatMap { failures?.delay(for: $0) } ?? .zero
        let context = self.context.withLock { $0 }
        let threadPool = self.threadPool
        return Self.after(admission, on: eventLoop)
            .flatMap {
                guard Self.checkIsImmediate(request, context: context) else {
                    return threadPool.runIfActive(eventLoop: eventLoop) { Self.check(request, context: context) }
                }
                return eventLoop.makeSucceededFuture(Self.check(request, context: context))
            }
            .recover { .unavailable(reason: "the check could not run: \($0)") }
            .flatMap { verdict in
                guard verdict == .refused else { return eventLoop.makeSucceededFuture(verdict) }
                let delay = self.recordRefusal(of: request, clientKey: key, context: context)
                return Self.after(delay, on: eventLoop).map { verdict }
            }
    }

    /// Counts a refusal under the client's address and the account; the longer of the delays they earned.
    private func recordRefusal(
        of request: SaslauthdRequest,
        clientKey: String?,
        context: SASLServerContext
    ) -> TimeAmount {
        let fingerprint = CredentialFingerprint.of(
            login: request.login + [0] + request.realm,
            password: request.password
        )
        var delay = TimeAmount.zero
        if let failures, let clientKey {
            delay = failures.recordFailure(from: clientKey, fingerprint: fingerprint)
        }
        if let accountFailures, let user = Self.user(of: request, context: context) {
            delay = max(delay, accountFailures.recordFailure(from: user.description, fingerprint: fingerprint))
        }
        return delay
    }

    /// The user `request` names, as described for this type; `nil` for a name the store cannot hold.
    public static func user(of request: SaslauthdRequest, context: SASLServerContext) -> UserID? {
        guard !request.realm.isEmpty else { return try? context.user(forLogin: request.login) }
        let user = UserID(authid: request.login, realm: request.realm)
        return (try? user.validate()) == nil ? nil : user
    }

    /// Checks the password of `request` against the store of `context`; blocking.
    public static func check(_ request: SaslauthdRequest, context: SASLServerContext) -> SaslauthdVerdict {
        guard !request.password.isEmpty, let user = user(of: request, context: context) else { return .refused }
        do throws(SASLFailure) {
            return try context.verify(password: request.password, for: user) ? .accepted(user) : .refused
        } catch {
            if case .temporary(let reason) = error { return .unavailable(reason: reason) }
            return .refused
        }
    }

    /// Whether ``check(_:context:)`` answers at once: a request refused before any lookup, or a password check from
    /// memory.
    private static func checkIsImmediate(_ request: SaslauthdRequest, context: SASLServerContext) -> Bool {
        guard !request.password.isEmpty, let user = user(of: request, context: context) else { return true }
        return context.passwordCheckIsImmediate(for: user)
    }

    /// A future that succeeds on `eventLoop` once `delay` has passed (at once for none).
    private static func after(_ delay: TimeAmount, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        guard delay > .zero else { return eventLoop.makeSucceededVoidFuture() }
        return eventLoop.scheduleTask(in: delay) {}.futureResult
    }

    /// The tracker's key for the request's client address: libsasl sends `address;port`, the port is dropped.
    private func clientKey(of request: SaslauthdRequest) -> String? {
        guard let failures, let bytes = request.clientAddress, !bytes.isEmpty,
            let text = String(validating: bytes, as: UTF8.self)
        else { return nil }
        let address = text.lastIndex(of: ";").map { String(text[..<$0]) } ?? text
        return failures.policy.clientKey(for: address)
    }
}
