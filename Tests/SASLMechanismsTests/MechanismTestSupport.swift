import SASLDB
import SASLMechanisms

/// An in-memory credential store with users in it and a server context over it, for any mechanism's tests.
///
/// Each user is written with their own ``SecretPolicy``, so one store can hold a plaintext user beside a
/// verifiers-only one. The context reads through a ``CredentialStore`` whose policy is `lookupPolicy`, which is what
/// the mechanisms take as the shape of a typical user.
struct MechanismFixture {
    /// The host name of the default context.
    static let hostName = "mail.example.org"
    /// The realm of a login name without `@` in the default context.
    static let defaultRealm = "example.org"

    /// Where the records live.
    let backend: MemoryBackend
    /// The store the context reads.
    let store: CredentialStore
    /// The context to hand to mechanisms; change its fields (for example ``SASLServerContext/authorize``) as needed.
    var context: SASLServerContext

    /// Creates the store and writes `users`: (login name, password, policy), the login mapped as the context maps it.
    init(
        users: [(String, String, SecretPolicy)] = [],
        lookupPolicy: SecretPolicy = .cyrusDefault,
        hostName: String = MechanismFixture.hostName,
        defaultRealm: String = MechanismFixture.defaultRealm,
        authorize: (@Sendable (UserID, String) -> Bool)? = nil
    ) throws {
        backend = MemoryBackend()
        store = CredentialStore(backend: backend, policy: lookupPolicy)
        context = SASLServerContext(
            lookup: store,
            hostName: hostName,
            defaultRealm: defaultRealm,
            authorize: authorize
        )
        for (login, password, policy) in users {
            try setPassword(password, for: login, policy: policy)
        }
    }

    /// The user a login name maps to.
    func user(_ login: String) throws -> UserID {
        try UserID(parsing: login, defaultRealm: context.defaultRealm)
    }

    /// Sets a password with a given policy.
    func setPassword(_ password: String, for login: String, policy: SecretPolicy = .cyrusDefault) throws {
        try setPassword(Array(password.utf8), for: login, policy: policy)
    }

    /// Sets a password given as raw bytes (for passwords that are not UTF-8).
    func setPassword(_ password: [UInt8], for login: String, policy: SecretPolicy = .cyrusDefault) throws {
        try CredentialStore(backend: backend, policy: policy).setPassword(password, for: user(login))
    }

    /// Stores raw property values for a user, replacing what was there (for hand-made records, as a Cyrus file holds).
    func putRecords(_ values: [Property: [UInt8]], for login: String) throws {
        let user = try user(login)
        try store.importRecords(values.map { Record(key: RecordKey(user: user, property: $0.key), value: $0.value) })
    }

    /// Moves a user's secrets aside, as `sasldb disable` does.
    func disable(_ login: String) throws {
        try store.disable(user(login))
    }
}

/// A context over a fresh in-memory store holding `users` (login name, password, policy).
func makeMechanismContext(
    users: [(String, String, SecretPolicy)],
    authorize: (@Sendable (UserID, String) -> Bool)? = nil
) throws -> SASLServerContext {
    try MechanismFixture(users: users, authorize: authorize).context
}

/// A lookup whose store cannot be read, for the temporary-failure path.
struct UnreadableCredentialLookup: CredentialLookup {
    struct ReadError: Error {}

    func secrets(for user: UserID) throws -> UserSecrets { throw ReadError() }

    var secretPolicy: SecretPolicy { .cyrusDefault }
}

/// A cheap SCRAM iteration count for tests that do not measure SCRAM itself.
let testSCRAMIterations = 64

/// Every verifier, no plaintext, with a cheap SCRAM iteration count.
let verifiersOnlyTestPolicy = SecretPolicy(
    plaintext: false,
    cramMD5: true,
    digestMD5: true,
    scram: .sha256,
    scramIterations: testSCRAMIterations
)
