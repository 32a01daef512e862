import SASLDB
import Synchronization
import XCTest

@testable import SASLMechanisms

/// Where PLAIN and LOGIN passwords are checked: the store, another ``PasswordSource`` (PAM in the daemon), or the
/// store for its users and the other source for everyone else.
final class PasswordSourceOrderTests: XCTestCase {
    /// A source that knows one account and remembers the names it was asked about.
    private final class RecordingSource: PasswordSource {
        let accounts: [String: String]
        private let asked = Mutex<[String]>([])

        init(accounts: [String: String]) { self.accounts = accounts }

        var names: [String] { asked.withLock { $0 } }

        func verify(password: [UInt8], name: String) throws(SASLFailure) -> Bool {
            asked.withLock { $0.append(name) }
            return accounts[name].map { Array($0.utf8) == password } ?? false
        }

        func run<Result: Sendable>(_ check: @escaping @Sendable () -> Result) async throws(SASLFailure) -> Result {
            check()
        }
    }

    private func fixture(
        _ order: PasswordSourceOrder,
        source: RecordingSource? = RecordingSource(accounts: ["bob": "system-secret"])
    ) throws -> MechanismFixture {
        var fixture = try MechanismFixture(users: [("alice", "store-secret", .cyrusDefault)])
        fixture.context.passwordSourceOrder = order
        fixture.context.passwordSource = source
        return fixture
    }

    private func plain(_ login: String, _ password: String, _ context: SASLServerContext) -> SASLStep {
        var mechanism = PlainMechanism(context: context)
        return mechanism.step([0] + Array(login.utf8) + [0] + Array(password.utf8))
    }

    private func succeeded(_ step: SASLStep) -> Bool {
        if case .success = step { return true }
        return false
    }

    func testStoreOrderNeverAsksTheOtherSource() throws {
        let source = RecordingSource(accounts: ["bob": "system-secret"])
        let context = try fixture(.store, source: source).context
        XCTAssertTrue(succeeded(plain("alice", "store-secret", context)))
        XCTAssertFalse(succeeded(plain("bob", "system-secret", context)))
        XCTAssertEqual(source.names, [])
    }

    func testExternalOrderChecksOnlyTheOtherSourceByTheBareNameInTheDefaultRealm() throws {
        let source = RecordingSource(accounts: ["bob": "system-secret"])
        let context = try fixture(.external, source: source).context
        XCTAssertTrue(succeeded(plain("bob", "system-secret", context)))
        XCTAssertTrue(succeeded(plain("bob@\(MechanismFixture.defaultRealm)", "system-secret", context)))
        XCTAssertFalse(succeeded(plain("bob", "wrong", context)))
        // A store user is unknown to the other source: the store is not consulted at all.
        XCTAssertFalse(succeeded(plain("alice", "store-secret", context)))
        XCTAssertFalse(succeeded(plain("bob@other.example", "system-secret", context)))
        XCTAssertEqual(source.names, ["bob", "bob", "bob", "alice", "bob@other.example"])
    }

    func testStoreThenExternalChecksAStoreUserInTheStoreOnly() throws {
        let source = RecordingSource(accounts: ["bob": "system-secret", "alice": "system-password-of-alice"])
        let context = try fixture(.storeThenExternal, source: source).context
        XCTAssertTrue(succeeded(plain("alice", "store-secret", context)))
        XCTAssertFalse(succeeded(plain("alice", "system-password-of-alice", context)))
        XCTAssertTrue(succeeded(plain("bob", "system-secret", context)))
        XCTAssertFalse(succeeded(plain("carol", "anything", context)))
        XCTAssertEqual(source.names, ["bob", "carol"])
    }

    func testStoreThenExternalNeverHandsADisabledStoreUserToTheOtherSource() throws {
        let source = RecordingSource(accounts: ["alice": "system-password-of-alice"])
        let fixture = try fixture(.storeThenExternal, source: source)
        try CredentialStore(backend: fixture.backend).disable(fixture.user("alice"))
        XCTAssertFalse(succeeded(plain("alice", "system-password-of-alice", fixture.context)))
        XCTAssertFalse(succeeded(plain("alice", "store-secret", fixture.context)))
        XCTAssertEqual(source.names, [])
    }

    func testLoginMechanismUsesTheOtherSourceToo() throws {
        let context = try fixture(.external).context
        var mechanism = LoginMechanism(context: context)
        XCTAssertEqual(mechanism.step(nil), .challenge(LoginMechanism.usernamePrompt))
        XCTAssertEqual(mechanism.step(Array("bob".utf8)), .challenge(LoginMechanism.passwordPrompt))
        XCTAssertTrue(succeeded(mechanism.step(Array("system-secret".utf8))))
    }

    func testMissingSourceIsATemporaryFailureNotARefusal() throws {
        let context = try fixture(.external, source: nil).context
        guard case .failure(.temporary) = plain("bob", "system-secret", context) else {
            return XCTFail("expected a temporary failure")
        }
    }

    func testOnlyPasswordMechanismsRunOnTheSourcesThreadsAndRemainWithoutTheStore() throws {
        let context = try fixture(.storeThenExternal).context
        XCTAssertNotNil(context.passwordSourceRunning(PlainMechanism(context: context)))
        XCTAssertNotNil(context.passwordSourceRunning(LoginMechanism(context: context)))
        XCTAssertNil(context.passwordSourceRunning(CRAMMD5Mechanism(context: context)))
        XCTAssertNil(try fixture(.store).context.passwordSourceRunning(PlainMechanism(context: context)))

        let policy = MechanismPolicy(allowedWithoutTLS: ["CRAM-MD5", "PLAIN"])
        XCTAssertEqual(policy.usable(with: .external).enabled, ["PLAIN", "LOGIN"])
        XCTAssertEqual(policy.usable(with: .external).allowedWithoutTLS, ["PLAIN"])
        XCTAssertEqual(policy.usable(with: .storeThenExternal), policy)
    }
}
