import SASLDB
import Synchronization
import XCTest

@testable import SASLMechanisms

/// `stepIsImmediate(for:)`: a step a mechanism calls immediate never reads the store, and each mechanism claims only
/// the steps before its first lookup, or the steps whose secrets the lookup holds in memory and whose check costs no
/// key derivation.
final class SASLServerMechanismTests: XCTestCase {
    /// A store that counts its lookups and knows nobody.
    private final class CountingLookup: CredentialLookup {
        let lookups = Atomic<Int>(0)

        func secrets(for user: UserID) throws -> UserSecrets {
            lookups.add(1, ordering: .relaxed)
            return try MechanismFixture().store.secrets(for: user)
        }

        var secretPolicy: SecretPolicy { .cyrusDefault }
    }

    /// A store that counts its lookups and holds every user's secrets in memory too.
    private final class InMemoryLookup: CredentialLookup {
        let lookups = Atomic<Int>(0)
        let store: CredentialStore

        init(_ fixture: MechanismFixture) { store = fixture.store }

        func secrets(for user: UserID) throws -> UserSecrets {
            lookups.add(1, ordering: .relaxed)
            return try store.secrets(for: user)
        }

        func secretsInMemory(for user: UserID) -> UserSecrets? { try? store.secrets(for: user) }

        var secretPolicy: SecretPolicy { store.policy }
    }

    private let lookup = CountingLookup()

    private var context: SASLServerContext {
        SASLServerContext(lookup: lookup, hostName: MechanismFixture.hostName, defaultRealm: "example.org")
    }

    /// Runs `step` after checking what the mechanism claims; an immediate step must not have read the store.
    private func step<M: SASLServerMechanism>(
        _ mechanism: inout M,
        _ response: [UInt8]?,
        expectImmediate: Bool,
        line: UInt = #line
    ) -> SASLStep {
        XCTAssertEqual(mechanism.stepIsImmediate(for: response), expectImmediate, line: line)
        let before = lookup.lookups.load(ordering: .relaxed)
        let result = mechanism.step(response)
        if expectImmediate {
            XCTAssertEqual(
                lookup.lookups.load(ordering: .relaxed),
                before,
                "an immediate step read the store",
                line: line
            )
        }
        return result
    }

    func testCRAMMD5OnlyItsChallengeIsImmediate() {
        var mechanism = CRAMMD5Mechanism(context: context)
        _ = step(&mechanism, nil, expectImmediate: true)
        _ = step(&mechanism, Array("tim 00000000000000000000000000000000".utf8), expectImmediate: false)
        XCTAssertEqual(lookup.lookups.load(ordering: .relaxed), 1)
    }

    func testPLAINIsImmediateOnlyWithoutAnInitialResponse() {
        var withResponse = PlainMechanism(context: context)
        _ = step(&withResponse, Array("\u{0}tim\u{0}secret".utf8), expectImmediate: false)
        var without = PlainMechanism(context: context)
        _ = step(&without, nil, expectImmediate: true)
        _ = step(&without, Array("\u{0}tim\u{0}secret".utf8), expectImmediate: false)
    }

    func testLOGINOnlyItsFirstPromptIsImmediate() {
        var mechanism = LoginMechanism(context: context)
        _ = step(&mechanism, nil, expectImmediate: true)
        _ = step(&mechanism, Array("tim".utf8), expectImmediate: false)
        _ = step(&mechanism, Array("secret".utf8), expectImmediate: false)
        var initial = LoginMechanism(context: context)
        _ = step(&initial, Array("tim".utf8), expectImmediate: false)
    }

    func testDIGESTMD5OnlyItsChallengeIsImmediate() {
        var mechanism = DigestMD5Mechanism(context: context)
        _ = step(&mechanism, nil, expectImmediate: true)
        _ = step(&mechanism, Array("username=\"tim\"".utf8), expectImmediate: false)
    }

    func testSCRAMNeverClaimsAnImmediateStep() {
        var mechanism = SCRAMMechanism<SCRAMSHA256>(context: context)
        _ = step(&mechanism, nil, expectImmediate: false)
    }

    // MARK: - Secrets held in memory

    private func inMemoryContext(_ policy: SecretPolicy = .cyrusDefault) throws -> SASLServerContext {
        let fixture = try MechanismFixture(
            users: [("tim", "secret", .cyrusDefault), ("vera", "secret", .noPlaintext)],
            lookupPolicy: policy
        )
        return SASLServerContext(
            lookup: InMemoryLookup(fixture),
            hostName: MechanismFixture.hostName,
            defaultRealm: MechanismFixture.defaultRealm
        )
    }

    func testPLAINWithAPlaintextHeldInMemoryIsImmediate() throws {
        let context = try inMemoryContext()
        for login in ["tim", "nobody"] {
            var mechanism = PlainMechanism(context: context)
            XCTAssertTrue(mechanism.stepIsImmediate(for: Array("\u{0}\(login)\u{0}secret".utf8)), login)
            _ = mechanism.step(Array("\u{0}\(login)\u{0}secret".utf8))
        }
    }

    func testPLAINThatMayDeriveAKeyOrAuthorizeIsNotImmediate() throws {
        let context = try inMemoryContext()
        // A verifier-only user costs a PBKDF2 run; an authorization identity may call a hook.
        XCTAssertFalse(PlainMechanism(context: context).stepIsImmediate(for: Array("\u{0}vera\u{0}secret".utf8)))
        XCTAssertFalse(PlainMechanism(context: context).stepIsImmediate(for: Array("tim\u{0}tim\u{0}secret".utf8)))
        // On a store without plaintext, an unknown name is checked against a stand-in verifier.
        let noPlaintext = try inMemoryContext(.noPlaintext)
        XCTAssertFalse(
            PlainMechanism(context: noPlaintext).stepIsImmediate(for: Array("\u{0}nobody\u{0}secret".utf8))
        )
        var external = context
        external.passwordSourceOrder = .storeThenExternal
        XCTAssertFalse(PlainMechanism(context: external).stepIsImmediate(for: Array("\u{0}tim\u{0}secret".utf8)))
    }

    func testCRAMMD5AnswerWithSecretsHeldInMemoryIsImmediate() throws {
        var mechanism = CRAMMD5Mechanism(context: try inMemoryContext())
        _ = mechanism.step(nil)
        XCTAssertTrue(mechanism.stepIsImmediate(for: Array("vera 00000000000000000000000000000000".utf8)))
    }
}
