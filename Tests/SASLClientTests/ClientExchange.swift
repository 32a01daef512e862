import SASLClient
import SASLDB
import SASLMechanisms

/// A server with users in an in-memory store, and a driver that runs a client mechanism against our server mechanisms
/// until one of them ends the exchange.
struct ClientExchange {
    static let hostName = "mail.example.org"
    static let defaultRealm = "example.org"
    /// Cheap, so the SCRAM tests run quickly; the count travels in the server-first-message anyway.
    static let scramIterations = 64

    let backend = MemoryBackend()
    let context: SASLServerContext

    /// Creates the store and writes `users`: (login name, password, policy).
    init(users: [(String, String, SecretPolicy)]) throws {
        context = SASLServerContext(
            lookup: CredentialStore(backend: backend),
            hostName: Self.hostName,
            defaultRealm: Self.defaultRealm
        )
        for (login, password, policy) in users {
            let user = try UserID(parsing: login, defaultRealm: Self.defaultRealm)
            try CredentialStore(backend: backend, policy: policy).setPassword(Array(password.utf8), for: user)
        }
    }

    /// Options for a client of this server.
    static let options = SASLClientOptions(
        host: hostName,
        preparePassword: { try? saslPrep($0, allowUnassigned: false) }
    )

    /// Runs `client` against a fresh server mechanism of the same name; returns how the server ended it.
    ///
    /// - Throws: what the client throws; the exchange then stops, as an SMTP client would cancel it.
    func run(_ client: any SASLClientMechanism) throws(SASLClientError) -> SASLStep {
        var client = client
        guard
            var server = SASLMechanismFactory.make(
                client.name,
                context: context,
                scramIterations: Self.scramIterations
            )
        else { preconditionFailure("no server mechanism \(client.name)") }
        var step = server.step(try client.initialResponse())
        var rounds = 0
        while case .challenge(let challenge) = step {
            rounds += 1
            precondition(rounds < 10, "the exchange does not end")
            step = server.step(try client.respond(to: challenge))
        }
        return step
    }

    /// Runs a client made by the factory for `mechanism` with `user` and `password`.
    func run(_ mechanism: String, user: String, password: String) throws(SASLClientError) -> SASLStep {
        try run(
            SASLClientFactory.make(
                mechanism,
                credentials: SASLClientCredentials(user: user, password: password),
                options: Self.options
            )
        )
    }

    /// The user a login maps to on this server.
    func user(_ login: String) throws -> UserID {
        try UserID(parsing: login, defaultRealm: Self.defaultRealm)
    }
}

/// Every secret a mechanism can verify without the plaintext, SCRAM with `hash`.
func verifiersOnly(_ hash: SCRAMHash = .sha256) -> SecretPolicy {
    SecretPolicy(
        plaintext: false,
        cramMD5: true,
        digestMD5: true,
        scram: hash,
        scramIterations: ClientExchange.scramIterations
    )
}

/// The plaintext only, as Cyrus stores by default.
let plaintextOnly = SecretPolicy(plaintext: true, cramMD5: false, digestMD5: false, scram: nil)
