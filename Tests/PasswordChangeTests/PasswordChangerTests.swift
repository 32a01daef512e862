import PasswordChange
import SASLDB
import SASLMechanisms
import Synchronization
import XCTest

final class PasswordChangerTests: XCTestCase {
    private final class AuditLog: Sendable {
        let records = Mutex<[PasswordChangeAudit]>([])
        var all: [PasswordChangeAudit] { records.withLock { $0 } }
    }

    private let alice = UserID(authid: Array("alice".utf8), realm: Array("example.org".utf8))
    private let bob = UserID(authid: Array("bob".utf8), realm: Array("example.org".utf8))

    private func makeChanger(policy: SecretPolicy = .cyrusDefault) throws -> (PasswordChanger, AuditLog) {
        let store = CredentialStore(backend: MemoryBackend(), policy: policy)
        try store.setPassword(Array("alice-old-pw".utf8), for: alice)
        try store.setPassword(Array("bob-password".utf8), for: bob)
        let log = AuditLog()
        let changer = PasswordChanger(store: store, defaultRealm: "example.org") { record in
            log.records.withLock { $0.append(record) }
        }
        return (changer, log)
    }

    private func change(_ changer: PasswordChanger, _ login: String, _ current: String, _ new: String) throws {
        try changer.change(login: Array(login.utf8), current: Array(current.utf8), new: Array(new.utf8), origin: "test")
    }

    private func assertRefused(
        _ expected: PasswordChangeError,
        file: StaticString = #filePath,
        line: UInt = #line,
        _ body: () throws -> Void
    ) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertEqual(error as? PasswordChangeError, expected, file: file, line: line)
        }
    }

    func testChangeReplacesEverySecretAndTheOldPasswordStopsWorking() throws {
        let (changer, log) = try makeChanger(policy: .noPlaintext)
        try change(changer, "alice", "alice-old-pw", "new horse battery")
        let secrets = try changer.store.secrets(of: alice)
        XCTAssertNil(secrets.plaintext)
        XCTAssertNotNil(secrets.cramMD5)
        XCTAssertNotNil(secrets.digestMD5)
        XCTAssertNotNil(secrets.scram)
        XCTAssertTrue(secrets.verify(password: Array("new horse battery".utf8)))
        XCTAssertFalse(secrets.verify(password: Array("alice-old-pw".utf8)))
        XCTAssertTrue(try changer.store.verify(password: Array("bob-password".utf8), for: bob))
        XCTAssertEqual(log.all.map(\.description), ["password change user=alice@example.org test result=changed"])
    }

    func testTheNextPlainAuthenticationSeesTheNewPassword() throws {
        let (changer, _) = try makeChanger()
        try change(changer, "alice@example.org", "alice-old-pw", "new horse battery")
        let context = SASLServerContext(lookup: changer.store, hostName: "mx.example.org", defaultRealm: "example.org")
        var mechanism = try XCTUnwrap(SASLMechanismFactory.make("PLAIN", context: context))
        XCTAssertEqual(
            mechanism.step(Array("\0alice\0new horse battery".utf8)),
            .success(AuthenticatedIdentity(user: alice))
        )
        var old = try XCTUnwrap(SASLMechanismFactory.make("PLAIN", context: context))
        guard case .failure(.authenticationFailed) = old.step(Array("\0alice\0alice-old-pw".utf8)) else {
            return XCTFail("the old password still works")
        }
    }

    func testWrongPasswordUnknownAndDisabledUsersGetTheSameRefusalAndNothingChanges() throws {
        let (changer, log) = try makeChanger()
        let before = try changer.store.records()
        assertRefused(.authenticationFailed) { try change(changer, "alice", "wrong-password", "new horse battery") }
        assertRefused(.authenticationFailed) { try change(changer, "nobody", "alice-old-pw", "new horse battery") }
        try changer.store.disable(bob)
        let disabled = try changer.store.records()
        assertRefused(.authenticationFailed) { try change(changer, "bob", "bob-password", "new horse battery") }
        XCTAssertEqual(try changer.store.records(), disabled)
        XCTAssertNotEqual(before, disabled)
        XCTAssertEqual(
            log.all.map(\.description),
            [
                "password change user=alice@example.org test result=refused reason=authentication-failed",
                "password change user=nobody@example.org test result=refused reason=authentication-failed",
                "password change user=bob@example.org test result=refused reason=authentication-failed",
            ]
        )
    }

    func testThePolicyIsAskedOnlyAfterTheCurrentPasswordIsRight() throws {
        let (changer, log) = try makeChanger()
        assertRefused(.authenticationFailed) { try change(changer, "alice", "wrong-password", "short") }
        assertRefused(.policy(.tooShort(minimum: 8))) { try change(changer, "alice", "alice-old-pw", "short") }
        assertRefused(.policy(.sameAsCurrent)) { try change(changer, "alice", "alice-old-pw", "alice-old-pw") }
        assertRefused(.policy(.common)) { try change(changer, "alice", "alice-old-pw", "Password123") }
        XCTAssertTrue(try changer.store.verify(password: Array("alice-old-pw".utf8), for: alice))
        XCTAssertEqual(
            log.all.last?.description,
            "password change user=alice@example.org test result=refused rule=common"
        )
    }

    func testNoPasswordEverReachesTheAuditLog() throws {
        let (changer, log) = try makeChanger()
        try? change(changer, "alice", "wrong-password", "new horse battery")
        try? change(changer, "alice", "alice-old-pw", "Password123")
        // A password typed into the login field is not logged either.
        try? changer.change(login: [0x61, 0, 0x62], current: [], new: Array("new horse battery".utf8), origin: "test")
        try change(changer, "alice", "alice-old-pw", "new horse battery")
        let text = log.all.map(\.description).joined(separator: "\n")
        for secret in ["wrong-password", "alice-old-pw", "Password123", "new horse battery"] {
            XCTAssertFalse(text.contains(secret), text)
        }
        XCTAssertTrue(text.contains("user=(invalid)"), text)
    }

    func testResetNeedsAnExistingUserAndStillAppliesThePolicy() throws {
        let (changer, _) = try makeChanger()
        assertRefused(.authenticationFailed) {
            try changer.reset(login: Array("carol".utf8), new: Array("new horse battery".utf8), origin: "test")
        }
        XCTAssertFalse(try changer.store.exists(UserID(authid: Array("carol".utf8), realm: Array("example.org".utf8))))
        assertRefused(.policy(.tooShort(minimum: 8))) {
            try changer.reset(login: Array("alice".utf8), new: Array("short".utf8), origin: "test")
        }
        try changer.reset(login: Array("alice".utf8), new: Array("new horse battery".utf8), origin: "test")
        XCTAssertTrue(try changer.store.verify(password: Array("new horse battery".utf8), for: alice))
    }

    func testALoginThatNamesNoUserIsRefusedAsSuch() throws {
        let (changer, _) = try makeChanger()
        assertRefused(.invalidLogin) { try change(changer, "", "alice-old-pw", "new horse battery") }
        assertRefused(.invalidLogin) { try change(changer, "@example.org", "alice-old-pw", "new horse battery") }
    }
}
