import SASLDB
import Synchronization
import XCTest

@testable import SASLMechanisms

/// `stepIsImmediate(for:)`: a step a mechanism calls immediate never reads the store, and each mechanism claims only
/// the steps before its first lookup.
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
}
