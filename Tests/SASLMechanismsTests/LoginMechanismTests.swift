import SASLDB
import XCTest

@testable import SASLMechanisms

final class LoginMechanismTests: XCTestCase {
    private let alice = UserID(authid: Array("alice".utf8), realm: Array("example.org".utf8))
    private let authFailed = SASLStep.failure(.authenticationFailed(reason: PasswordCheck.failureReason))

    private static let aliceOnly: [(String, String, SecretPolicy)] = [("alice", "secret", .cyrusDefault)]

    private func context(_ users: [(String, String, SecretPolicy)] = aliceOnly) throws -> SASLServerContext {
        try MechanismFixture(users: users).context
    }

    /// Runs the whole dialogue from the first prompt and returns the last step.
    private func login(_ name: String, _ password: String, _ context: SASLServerContext) -> SASLStep {
        var mechanism = LoginMechanism(context: context)
        guard mechanism.step(nil) == .challenge(LoginMechanism.usernamePrompt) else { return .challenge([]) }
        let afterName = mechanism.step(Array(name.utf8))
        guard afterName == .challenge(LoginMechanism.passwordPrompt) else { return afterName }
        return mechanism.step(Array(password.utf8))
    }

    private func isMalformed(_ step: SASLStep) -> Bool {
        if case .failure(.malformed) = step { return true }
        return false
    }

    func testPromptsAreCyrusBytesWithoutTerminator() {
        XCTAssertEqual(LoginMechanism.usernamePrompt, Array("Username:".utf8))
        XCTAssertEqual(LoginMechanism.passwordPrompt, Array("Password:".utf8))
    }

    func testFullDialogueAuthenticates() throws {
        var mechanism = LoginMechanism(context: try context())
        XCTAssertEqual(mechanism.step(nil), .challenge(Array("Username:".utf8)))
        XCTAssertEqual(mechanism.step(Array("alice".utf8)), .challenge(Array("Password:".utf8)))
        XCTAssertEqual(mechanism.step(Array("secret".utf8)), .success(AuthenticatedIdentity(user: alice)))
    }

    func testInitialResponseIsTheUserNameAndSkipsTheFirstPrompt() throws {
        var mechanism = LoginMechanism(context: try context())
        XCTAssertEqual(mechanism.step(Array("alice".utf8)), .challenge(LoginMechanism.passwordPrompt))
        XCTAssertEqual(mechanism.step(Array("secret".utf8)), .success(AuthenticatedIdentity(user: alice)))
    }

    func testEmptyUserNameIsMalformed() throws {
        var initial = LoginMechanism(context: try context())
        XCTAssertTrue(isMalformed(initial.step([])))
        XCTAssertTrue(isMalformed(login("", "secret", try context())))
    }

    func testEmptyPasswordIsMalformed() throws {
        XCTAssertTrue(isMalformed(login("alice", "", try context())))
    }

    func testInvalidUserNameFailsBeforeThePasswordPrompt() throws {
        var mechanism = LoginMechanism(context: try context())
        XCTAssertTrue(isMalformed(mechanism.step([0xff, 0xfe])))
        XCTAssertTrue(isMalformed(mechanism.step(Array("secret".utf8))))
        XCTAssertTrue(isMalformed(login("@example.org", "secret", try context())))
    }

    func testStoreWithOnlyVerifiersAuthenticates() throws {
        let context = try context([("alice", "secret", verifiersOnlyTestPolicy)])
        XCTAssertEqual(login("alice", "secret", context), .success(AuthenticatedIdentity(user: alice)))
        XCTAssertEqual(login("alice", "Secret", context), authFailed)
    }

    func testWrongPasswordUnknownUserAndDisabledUserFailIdentically() throws {
        let fixture = try MechanismFixture(users: [
            ("alice", "secret", .cyrusDefault), ("bob", "secret", .cyrusDefault),
        ])
        try fixture.disable("bob")
        let wrongPassword = login("alice", "wrong", fixture.context)
        XCTAssertEqual(wrongPassword, authFailed)
        XCTAssertEqual(login("carol", "secret", fixture.context), wrongPassword)
        XCTAssertEqual(login("bob", "secret", fixture.context), wrongPassword)
    }

    func testLoginWithAndWithoutRealmReachTheSameUser() throws {
        let context = try context()
        XCTAssertEqual(login("alice", "secret", context), .success(AuthenticatedIdentity(user: alice)))
        XCTAssertEqual(login("alice@example.org", "secret", context), .success(AuthenticatedIdentity(user: alice)))
    }

    func testPasswordIsComparedAsRawBytesWithoutUTF8Rule() throws {
        let latin1 = [UInt8(ascii: "p"), 0xe4, UInt8(ascii: "s"), UInt8(ascii: "s")]
        let fixture = try MechanismFixture()
        try fixture.setPassword(latin1, for: "alice")
        var mechanism = LoginMechanism(context: fixture.context)
        XCTAssertEqual(mechanism.step(Array("alice".utf8)), .challenge(LoginMechanism.passwordPrompt))
        XCTAssertEqual(mechanism.step(latin1), .success(AuthenticatedIdentity(user: alice)))
    }

    func testOverlongNameAndPasswordAreTooLong() throws {
        var mechanism = LoginMechanism(context: try context())
        let longName = [UInt8](repeating: UInt8(ascii: "a"), count: LoginMechanism.maximumNameLength + 1)
        XCTAssertEqual(mechanism.step(longName), .failure(.tooLong(limit: LoginMechanism.maximumNameLength)))

        let longPassword = String(repeating: "p", count: LoginMechanism.maximumPasswordLength + 1)
        XCTAssertEqual(
            login("alice", longPassword, try context()),
            .failure(.tooLong(limit: LoginMechanism.maximumPasswordLength))
        )
    }

    func testUnreadableStoreIsTemporaryFailure() {
        let context = SASLServerContext(lookup: UnreadableCredentialLookup(), hostName: "mail.example.org")
        guard case .failure(.temporary) = login("alice", "secret", context) else {
            return XCTFail("expected a temporary failure")
        }
    }

    func testStepsAfterTheEndAreMalformed() throws {
        var mechanism = LoginMechanism(context: try context())
        XCTAssertEqual(mechanism.step(Array("alice".utf8)), .challenge(LoginMechanism.passwordPrompt))
        XCTAssertEqual(mechanism.step(Array("secret".utf8)), .success(AuthenticatedIdentity(user: alice)))
        XCTAssertTrue(isMalformed(mechanism.step(Array("secret".utf8))))

        var missing = LoginMechanism(context: try context())
        XCTAssertEqual(missing.step(nil), .challenge(LoginMechanism.usernamePrompt))
        XCTAssertTrue(isMalformed(missing.step(nil)))
    }
}
