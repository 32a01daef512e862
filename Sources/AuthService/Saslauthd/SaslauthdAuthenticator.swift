import NIOCore
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
/// **Passwords.** The plaintext is checked by ``SASLMechanisms/SASLServerContext/verify(password:for:)``, PLAIN's own
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

    /// Creates an authenticator.
    ///
    /// - Parameters:
    ///   - context: the store and the default realm (the realm of a request that names none).
    ///   - failures: where failures are counted per client address, `nil` for none.
    ///   - accountFailures: where failures are counted per account, `nil` for none.
    public init(
        context: SASLServerContext,
        failures: AuthFailureTracker?,
        accountFailures: AuthFailureTracker? = nil
    ) {
        self.context = Mutex(context)
        self.failures = failures
        self.accountFailures = accountFailures
    }

    /// Uses `context` (a new store or default realm, on reload) for the requests that start from now on.
    public func updateContext(_ context: SASLServerContext) {
        self.context.withLock { $0 = context }
    }

    /// Checks `request`: waits the delay its client address has earned, checks the password on a thread of its own
    /// (it reads the store and may run PBKDF2), and counts a refusal under the client's address and the account,
    /// answering it after the delay they earned.
    public func authenticate(_ request: SaslauthdRequest) async -> SaslauthdVerdict {
        let key = clientKey(of: request)
        if let failures, let key {
            await Self.wait(failures.delay(for: key))
        }
        let context = self.context.withLock { $0 }
        let verdict = await BlockingWork.run { Self.check(request, context: context) }
        guard verdict == .refused else { return verdict }
        let fingerprint = CredentialFingerprint.of(
            login: request.login + [0] + request.realm,
            password: request.password
        )
        var delay = TimeAmount.zero
        if let failures, let key {
            delay = failures.recordFailure(from: key, fingerprint: fingerprint)
        }
        if let accountFailures, let user = Self.user(of: request, context: context) {
            delay = max(delay, accountFailures.recordFailure(from: user.description, fingerprint: fingerprint))
        }
        await Self.wait(delay)
        return verdict
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

    private static func wait(_ delay: TimeAmount) async {
        if delay > .zero { try? await Task.sleep(nanoseconds: UInt64(delay.nanoseconds)) }
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
