import Dispatch
import SASLDB
import XCTest

@testable import SASLMechanisms

final class PlainMechanismTests: XCTestCase {
    private let alice = UserID(authid: Array("alice".utf8), realm: Array("example.org".utf8))
    private let authFailed = SASLStep.failure(.authenticationFailed(reason: PasswordCheck.failureReason))

    private func message(_ authzid: String, _ authcid: String, _ password: String) -> [UInt8] {
        Array(authzid.utf8) + [0] + Array(authcid.utf8) + [0] + Array(password.utf8)
    }

    private static let aliceOnly: [(String, String, SecretPolicy)] = [("alice", "secret", .cyrusDefault)]

    private func fixture(_ users: [(String, String, SecretPolicy)] = aliceOnly) throws -> MechanismFixture {
        try MechanismFixture(users: users)
    }

    private func run(_ response: [UInt8]?, _ context: SASLServerContext) -> SASLStep {
        var mechanism = PlainMechanism(context: context)
        return mechanism.step(response)
    }

    private func isMalformed(_ step: SASLStep) -> Bool {
        if case .failure(.malformed) = step { return true }
        return false
    }

    // MARK: Success

    func testInitialResponseWithPlaintextPasswordAuthenticates() throws {
        let step = run(message("", "alice", "secret"), try fixture().context)
        XCTAssertEqual(step, .success(AuthenticatedIdentity(user: alice)))
    }

    func testNoInitialResponseGetsEmptyChallengeThenAuthenticates() throws {
        var mechanism = PlainMechanism(context: try fixture().context)
        XCTAssertEqual(mechanism.step(nil), .challenge([]))
        XCTAssertEqual(mechanism.step(message("", "alice", "secret")), .success(AuthenticatedIdentity(user: alice)))
    }

    func testStoreWithOnlyVerifiersAuthenticates() throws {
        let context = try fixture([("alice", "secret", verifiersOnlyTestPolicy)]).context
        XCTAssertEqual(run(message("", "alice", "secret"), context), .success(AuthenticatedIdentity(user: alice)))
        XCTAssertEqual(run(message("", "alice", "secreT"), context), authFailed)
    }

    func testEachVerifierAloneAuthenticates() throws {
        let policies = [
            SecretPolicy(plaintext: false, cramMD5: true),
            SecretPolicy(plaintext: false, digestMD5: true),
            SecretPolicy(plaintext: false, scram: .sha1, scramIterations: testSCRAMIterations),
        ]
        for policy in policies {
            let context = try fixture([("alice", "pässwörd", policy)]).context
            XCTAssertEqual(run(message("", "alice", "pässwörd"), context), .success(AuthenticatedIdentity(user: alice)))
            XCTAssertEqual(run(message("", "alice", "passwörd"), context), authFailed, "\(policy)")
        }
    }

    func testPlaintextTakesPriorityOverVerifiersAsInCyrus() throws {
        let fixture = try fixture([])
        try fixture.putRecords(
            [.userPassword: Array("pwA".utf8), .cramMD5: CRAMMD5State(password: Array("pwB".utf8)).bytes],
            for: "alice"
        )
        XCTAssertEqual(run(message("", "alice", "pwA"), fixture.context), .success(AuthenticatedIdentity(user: alice)))
        XCTAssertEqual(run(message("", "alice", "pwB"), fixture.context), authFailed)
    }

    func testLongestPasswordIsAccepted() throws {
        let password = String(repeating: "p", count: PlainMechanism.maximumPasswordLength)
        let context = try fixture([("alice", password, .cyrusDefault)]).context
        XCTAssertEqual(run(message("", "alice", password), context), .success(AuthenticatedIdentity(user: alice)))
    }

    // MARK: Identical failures

    func testWrongPasswordUnknownUserAndDisabledUserFailIdentically() throws {
        let fixture = try fixture([("alice", "secret", .cyrusDefault), ("bob", "secret", .cyrusDefault)])
        try fixture.disable("bob")
        let wrongPassword = run(message("", "alice", "wrong"), fixture.context)
        let unknownUser = run(message("", "carol", "secret"), fixture.context)
        let disabledUser = run(message("", "bob", "secret"), fixture.context)
        XCTAssertEqual(wrongPassword, authFailed)
        XCTAssertEqual(unknownUser, wrongPassword)
        XCTAssertEqual(disabledUser, wrongPassword)
    }

    func testVerifiersOnlyStoreFailsIdenticallyForAllThree() throws {
        let fixture = try MechanismFixture(
            users: [("alice", "secret", verifiersOnlyTestPolicy), ("bob", "secret", verifiersOnlyTestPolicy)],
            lookupPolicy: verifiersOnlyTestPolicy
        )
        try fixture.disable("bob")
        XCTAssertEqual(run(message("", "alice", "wrong"), fixture.context), authFailed)
        XCTAssertEqual(run(message("", "carol", "secret"), fixture.context), authFailed)
        XCTAssertEqual(run(message("", "bob", "secret"), fixture.context), authFailed)
    }

    func testUnknownUserIsCheckedAgainstSecretsShapedLikeTheStorePolicy() throws {
        let verifiers = try MechanismFixture(lookupPolicy: verifiersOnlyTestPolicy).context.lookup
        XCTAssertEqual(verifiers.secretPolicy, verifiersOnlyTestPolicy)
        let dummy = PasswordCheck.dummySecrets(for: alice, policy: verifiers.secretPolicy)
        XCTAssertNil(dummy.plaintext)
        XCTAssertNotNil(dummy.cramMD5)
        XCTAssertNotNil(dummy.digestMD5)
        XCTAssertEqual(dummy.scram?.hash, .sha256)
        XCTAssertEqual(dummy.scram?.iterations, testSCRAMIterations)
        XCTAssertFalse(dummy.verify(password: Array("secret".utf8)))

        let plaintextStore = try MechanismFixture().context.lookup
        let plaintext = PasswordCheck.dummySecrets(for: alice, policy: plaintextStore.secretPolicy)
        XCTAssertNotNil(plaintext.plaintext)
        XCTAssertNil(plaintext.scram)
    }

    func testUnknownNameCostsWhatAVerifierOnlyUserCostsOnAStoreWithoutPlaintext() throws {
        // The site's "no plaintext" store at the highest iteration count: a real user costs one PBKDF2 run of 65,536
        // iterations, so an unknown name must too. Timed as the password service's tests time unknown users: the
        // median of interleaved runs of each, which must be of the same size (a stand-in with plaintext or with the
        // default 4,096 iterations would be 16 times faster or more).
        var policy = SecretPolicy.noPlaintext
        policy.scramIterations = SecretPolicy.maximumSCRAMIterations
        let store = CredentialStore(backend: MemoryBackend(), policy: policy)
        try store.setPassword(Array("secret".utf8), for: alice)
        let context = SASLServerContext(lookup: store, hostName: MechanismFixture.hostName, defaultRealm: "example.org")
        func timeFailure(_ login: String) -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            XCTAssertEqual(run(message("", login, "wrong"), context), authFailed)
            return Double(DispatchTime.now().uptimeNanoseconds - start)
        }
        var known: [Double] = []
        var unknown: [Double] = []
        for attempt in 0..<9 {
            known.append(timeFailure("alice"))
            unknown.append(timeFailure("nobody-\(attempt)"))
        }
        let medians = [known, unknown].map { $0.sorted()[$0.count / 2] }
        let ratio = (medians.min() ?? 0) / (medians.max() ?? 1)
        XCTAssertGreaterThan(ratio, 0.5, "medians: verifier-only user \(medians[0]) ns, unknown name \(medians[1]) ns")
    }

    func testUnreadableStoreIsTemporaryFailure() {
        let context = SASLServerContext(lookup: UnreadableCredentialLookup(), hostName: "mail.example.org")
        guard case .failure(.temporary) = run(message("", "alice", "secret"), context) else {
            return XCTFail("expected a temporary failure")
        }
    }

    // MARK: Syntax

    func testMessagesWithoutExactlyTwoNULsAreMalformed() throws {
        let context = try fixture().context
        let messages: [[UInt8]] = [
            [],
            Array("alicesecret".utf8),
            Array("alice\u{0}secret".utf8),
            Array("\u{0}alice\u{0}sec\u{0}ret".utf8),
            Array("\u{0}\u{0}alice\u{0}secret".utf8),
        ]
        for bytes in messages {
            XCTAssertTrue(isMalformed(run(bytes, context)), "\(bytes)")
        }
    }

    func testEmptyAuthcidOrPasswordIsMalformed() throws {
        let context = try fixture().context
        XCTAssertTrue(isMalformed(run(message("", "", "secret"), context)))
        XCTAssertTrue(isMalformed(run(message("alice", "", "secret"), context)))
        XCTAssertTrue(isMalformed(run(message("", "alice", ""), context)))
    }

    func testInvalidUTF8InAnyPartIsMalformed() throws {
        let context = try fixture().context
        let invalid: [[UInt8]] = [[0xff], [0xc3], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80]]
        for bad in invalid {
            let alice = Array("alice".utf8)
            let secret = Array("secret".utf8)
            XCTAssertTrue(isMalformed(run(bad + [0] + alice + [0] + secret, context)), "authzid \(bad)")
            XCTAssertTrue(isMalformed(run([0] + alice + bad + [0] + secret, context)), "authcid \(bad)")
            XCTAssertTrue(isMalformed(run([0] + alice + [0] + secret + bad, context)), "password \(bad)")
        }
    }

    func testHugeMessageIsTooLong() throws {
        let context = try fixture().context
        let huge = message("", "alice", String(repeating: "x", count: 1 << 20))
        XCTAssertEqual(run(huge, context), .failure(.tooLong(limit: PlainMechanism.maximumMessageLength)))
        let justOver = message("", "alice", String(repeating: "x", count: PlainMechanism.maximumMessageLength - 6))
        XCTAssertEqual(justOver.count, PlainMechanism.maximumMessageLength + 1)
        XCTAssertEqual(run(justOver, context), .failure(.tooLong(limit: PlainMechanism.maximumMessageLength)))
    }

    func testOverlongPartsAreTooLong() throws {
        let context = try fixture().context
        let longName = String(repeating: "a", count: PlainMechanism.maximumNameLength + 1)
        let longPassword = String(repeating: "p", count: PlainMechanism.maximumPasswordLength + 1)
        let nameLimit = SASLStep.failure(.tooLong(limit: PlainMechanism.maximumNameLength))
        XCTAssertEqual(run(message(longName, "alice", "secret"), context), nameLimit)
        XCTAssertEqual(run(message("", longName, "secret"), context), nameLimit)
        XCTAssertEqual(
            run(message("", "alice", longPassword), context),
            .failure(.tooLong(limit: PlainMechanism.maximumPasswordLength))
        )
    }

    func testStepsAfterTheEndAreMalformed() throws {
        var mechanism = PlainMechanism(context: try fixture().context)
        XCTAssertEqual(mechanism.step(message("", "alice", "secret")), .success(AuthenticatedIdentity(user: alice)))
        XCTAssertTrue(isMalformed(mechanism.step(message("", "alice", "secret"))))

        var waiting = PlainMechanism(context: try fixture().context)
        XCTAssertEqual(waiting.step(nil), .challenge([]))
        XCTAssertTrue(isMalformed(waiting.step(nil)))
    }

    // MARK: Names

    func testLoginWithAndWithoutRealmReachTheSameUser() throws {
        let context = try fixture().context
        XCTAssertEqual(run(message("", "alice", "secret"), context), .success(AuthenticatedIdentity(user: alice)))
        XCTAssertEqual(
            run(message("", "alice@example.org", "secret"), context),
            .success(AuthenticatedIdentity(user: alice))
        )
        XCTAssertEqual(run(message("", "alice@other.example", "secret"), context), authFailed)
    }

    func testNamesAreCaseSensitiveAsInCyrus() throws {
        XCTAssertEqual(run(message("", "Alice", "secret"), try fixture().context), authFailed)
    }

    // MARK: Authorization identity

    func testOwnNameAsAuthzidIsAccepted() throws {
        let context = try fixture().context
        for authzid in ["alice", "alice@example.org"] {
            XCTAssertEqual(
                run(message(authzid, "alice", "secret"), context),
                .success(AuthenticatedIdentity(user: alice)),
                authzid
            )
        }
        XCTAssertEqual(
            run(message("alice@example.org", "alice@example.org", "secret"), context),
            .success(AuthenticatedIdentity(user: alice))
        )
    }

    func testProxyingIsRefusedWithoutHook() throws {
        guard case .failure(.authorizationDenied) = run(message("bob", "alice", "secret"), try fixture().context) else {
            return XCTFail("expected the authorization to be denied")
        }
    }

    func testProxyingIsAllowedWhenTheHookAgrees() throws {
        var context = try fixture().context
        context.authorize = { user, name in user.authid == Array("alice".utf8) && name == "bob@example.org" }
        XCTAssertEqual(
            run(message("bob@example.org", "alice", "secret"), context),
            .success(AuthenticatedIdentity(user: alice, authorizationID: "bob@example.org"))
        )
        guard case .failure(.authorizationDenied) = run(message("carol", "alice", "secret"), context) else {
            return XCTFail("expected the hook's refusal")
        }
    }

    func testWrongPasswordWithForeignAuthzidFailsAuthenticationNotAuthorization() throws {
        XCTAssertEqual(run(message("bob", "alice", "wrong"), try fixture().context), authFailed)
    }

    // MARK: Hygiene

    func testFailureReasonsNeverContainThePassword() throws {
        let context = try fixture().context
        let password = "hunter2-very-secret"
        let steps = [
            run(message("", "alice", password), context),
            run(message("", "alice", password + "\u{0}"), context),
            run(message("bob", "alice", password), context),
        ]
        for step in steps {
            XCTAssertFalse("\(step)".contains(password), "\(step)")
        }
    }
}
