import SASLDB
import SASLMechanisms

/// The one server every mechanism harness talks to: an in-memory store with users of every kind.
///
/// Everyone's password is `pw`. The server's host name and default realm are `localhost`.
public enum Fixture {
    /// The password of every user.
    public static let password = Array("pw".utf8)
    /// The server's host name, also the realm DIGEST-MD5 offers.
    public static let hostName = "localhost"
    /// Another name DIGEST-MD5's `digest-uri` may use.
    public static let alias = "mail.example.org"
    /// PBKDF2 count for SCRAM: low, so that an exchange costs microseconds, not milliseconds.
    public static let scramIterations = 16

    /// Plaintext password (Cyrus's default policy).
    public static let alice = user("alice@example.org")
    /// Verifiers only: CRAM-MD5 state, DIGEST-MD5 hash, SCRAM-SHA-256 `authPassword`.
    public static let bob = user("bob@example.org")
    /// Plaintext password, then disabled: must never log in.
    public static let carol = user("carol@example.org")
    /// Plaintext password in the realm DIGEST-MD5 offers.
    public static let dave = user("dave@localhost")
    /// The users who may log in (with `pw`).
    public static let genuine: Set<UserID> = [alice, bob, dave]
    /// The one identity one user may act as: alice may act as `postmaster`.
    public static let proxy = "postmaster"

    /// The store, filled once per process.
    public static let store: CredentialStore = {
        let backend = MemoryBackend()
        let plaintext = CredentialStore(backend: backend, policy: .cyrusDefault)
        let verifiers = CredentialStore(
            backend: backend,
            policy: SecretPolicy(
                plaintext: false,
                cramMD5: true,
                digestMD5: true,
                scram: .sha256,
                scramIterations: scramIterations
            )
        )
        do {
            try plaintext.setPassword(password, for: alice)
            try verifiers.setPassword(password, for: bob)
            try plaintext.setPassword(password, for: carol)
            try plaintext.disable(carol)
            try plaintext.setPassword(password, for: dave)
        } catch {
            fatalError("cannot fill the fuzz fixture's store: \(error)")
        }
        return plaintext
    }()

    /// The server context of every mechanism.
    public static let context = SASLServerContext(
        lookup: store,
        hostName: hostName,
        authorize: { user, authorizationID in user == alice && authorizationID == proxy }
    )

    private static func user(_ name: String) -> UserID {
        do {
            return try UserID(parsing: name, defaultRealm: "x")
        } catch {
            fatalError("bad fixture user \(name): \(error)")
        }
    }
}

/// Checks what any successful login must satisfy: a genuine user, and an authorization identity only where allowed.
public func checkIdentity(_ identity: AuthenticatedIdentity, mechanism: String) {
    require(
        Fixture.genuine.contains(identity.user),
        "\(mechanism) logged in \(identity.user), who has no usable secret"
    )
    if let authorizationID = identity.authorizationID {
        require(
            identity.user == Fixture.alice && authorizationID == Fixture.proxy,
            "\(mechanism) let \(identity.user) act as \(authorizationID.debugDescription)"
        )
    }
}

/// Checks that an exchange that has ended stays ended (any further response fails), then what it reports.
public func checkFinished(_ mechanism: any SASLServerMechanism, name: String) {
    for response in [nil, [], Array("x".utf8)] as [[UInt8]?] {
        var copy = mechanism
        if case .failure = copy.step(response) { continue }
        require(false, "\(name) accepted a response after the exchange ended")
    }
    checkReportedCredential(mechanism, name: name)
}

/// Checks the retry material against the claimed login (`login NUL password`), and that erasing it leaves none.
private func checkReportedCredential(_ mechanism: any SASLServerMechanism, name: String) {
    if let material = mechanism.withRetryMaterial({ $0 }) {
        let login = mechanism.claimedLogin ?? []
        require(mechanism.claimedLogin != nil, "\(name) has retry material without a claimed login")
        require(material.starts(with: login + [0]), "\(name)'s retry material does not start with its login")
    }
    mechanism.eraseRetryMaterial()
    require(mechanism.withRetryMaterial { _ in true } == nil, "\(name) kept its retry material after the erase")
}

/// Whether the step ends the exchange.
public func isTerminal(_ step: SASLStep) -> Bool {
    if case .challenge = step { return false }
    return true
}

/// The identity of a successful step.
public func identity(of step: SASLStep) -> AuthenticatedIdentity? {
    if case .success(let identity) = step { return identity }
    return nil
}

/// A fresh mechanism from the factory, as a server makes one per attempt.
public func makeMechanism(
    _ name: String,
    channelBindings: [SCRAMChannelBinding] = []
) -> any SASLServerMechanism {
    guard
        let mechanism = SASLMechanismFactory.make(
            name,
            context: Fixture.context,
            channelBindings: channelBindings,
            scramIterations: Fixture.scramIterations
        )
    else { fatalError("the factory does not know \(name)") }
    return mechanism
}
