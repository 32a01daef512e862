import AuthService
import Foundation
import NIOPosix
import SASLDB
import SASLMechanisms
import ServerKit
import XCTest

final class SaslauthdAuthenticatorTests: XCTestCase {
    private var directory = ""
    private var store = CredentialStore(backend: FileBackend(path: "/nonexistent"))

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "saslauthd-auth-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        store = CredentialStore(backend: FileBackend(path: directory + "/sasldb2"))
        try store.setPassword(
            Array("right".utf8),
            for: UserID(authid: Array("alice".utf8), realm: Array("example.org".utf8))
        )
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private let loop = MultiThreadedEventLoopGroup.singleton.next()

    private func context(_ lookup: any CredentialLookup) -> SASLServerContext {
        SASLServerContext(lookup: lookup, hostName: "mail.example.org", defaultRealm: "example.org")
    }

    private func request(
        _ login: String,
        _ password: String,
        realm: String = "",
        address: String? = nil
    )
        -> SaslauthdRequest
    {
        SaslauthdRequest(
            login: Array(login.utf8),
            password: Array(password.utf8),
            service: Array("smtp".utf8),
            realm: Array(realm.utf8),
            clientAddress: address.map { Array($0.utf8) }
        )
    }

    func testRightPasswordIsAcceptedWithTheRealmLibsaslSplitOff() {
        let alice = UserID(authid: Array("alice".utf8), realm: Array("example.org".utf8))
        let context = context(store)
        XCTAssertEqual(
            SaslauthdAuthenticator.check(request("alice", "right", realm: "example.org"), context: context),
            .accepted(alice)
        )
        XCTAssertEqual(
            SaslauthdAuthenticator.check(request("alice@example.org", "right"), context: context),
            .accepted(alice)
        )
        XCTAssertEqual(SaslauthdAuthenticator.check(request("alice", "right"), context: context), .accepted(alice))
    }

    func testRealmStringIsTakenAsItIsLikeSaslauthdSasldb() {
        let context = context(store)
        // The realm field names the realm: a login with @ is then looked up whole, in that realm, as Cyrus does.
        XCTAssertEqual(
            SaslauthdAuthenticator.check(request("alice@example.org", "right", realm: "example.org"), context: context),
            .refused
        )
        XCTAssertEqual(
            SaslauthdAuthenticator.check(request("alice", "right", realm: "example.net"), context: context),
            .refused
        )
    }

    func testWrongPasswordUnknownUserAndBadNamesGetOneAnswer() {
        let context = context(store)
        let answers = [
            request("alice", "wrong", realm: "example.org"),
            request("mallory", "right", realm: "example.org"),
            request("", "right"),
            request("alice", "", realm: "example.org"),
            request(String(repeating: "a", count: 300), "right", realm: "example.org"),
        ].map { SaslauthdAuthenticator.check($0, context: context).reply }
        XCTAssertEqual(Set(answers.map(\.encoded)), [SaslauthdReply.authenticationFailed.encoded])
    }

    func testVerifierOnlyUserIsAcceptedByItsPlaintextPassword() throws {
        let verifiers = CredentialStore(backend: FileBackend(path: directory + "/verifiers"), policy: .noPlaintext)
        let bob = UserID(authid: Array("bob".utf8), realm: Array("example.org".utf8))
        try verifiers.setPassword(Array("bobs password".utf8), for: bob)
        XCTAssertNil(try verifiers.secrets(of: bob).plaintext)
        let context = context(verifiers)
        XCTAssertEqual(
            SaslauthdAuthenticator.check(request("bob", "bobs password", realm: "example.org"), context: context),
            .accepted(bob)
        )
        XCTAssertEqual(
            SaslauthdAuthenticator.check(request("bob", "bobs passwort", realm: "example.org"), context: context),
            .refused
        )
    }

    func testUnreadableStoreIsATemporaryFailure() throws {
        try Data("not a database".utf8).write(to: URL(fileURLWithPath: directory + "/broken"))
        let broken = CredentialStore(backend: FileBackend(path: directory + "/broken"))
        let verdict = SaslauthdAuthenticator.check(
            request("alice", "right", realm: "example.org"),
            context: context(broken)
        )
        guard case .unavailable = verdict else { return XCTFail("expected a temporary failure, got \(verdict)") }
        XCTAssertEqual(SaslauthdWire.replyText(verdict.reply.encoded), "NO temporary failure")
    }

    func testFailuresAreCountedUnderTheClientAddressWithoutItsPort() async throws {
        let tracker = AuthFailureTracker()
        let authenticator = SaslauthdAuthenticator(context: context(store), failures: tracker)
        var verdict = try await authenticator.authenticate(
            request("alice", "wrong", realm: "example.org", address: "192.0.2.7;40001"),
            on: loop
        ).get()
        XCTAssertEqual(verdict, .refused)
        // The same wrong password retried from another port counts once.
        verdict = try await authenticator.authenticate(
            request("alice", "wrong", realm: "example.org", address: "192.0.2.7;40002"),
            on: loop
        ).get()
        XCTAssertEqual(verdict, .refused)
        XCTAssertEqual(tracker.failureCount(for: "192.0.2.7"), 1)
        verdict = try await authenticator.authenticate(
            request("mallory", "x", realm: "example.org", address: "192.0.2.7;40003"),
            on: loop
        ).get()
        XCTAssertEqual(tracker.failureCount(for: "192.0.2.7"), 2)
        verdict = try await authenticator.authenticate(request("alice", "right", realm: "example.org"), on: loop).get()
        XCTAssertEqual(verdict, .accepted(UserID(authid: Array("alice".utf8), realm: Array("example.org".utf8))))
        XCTAssertEqual(tracker.trackedAddressCount, 1)
    }

    func testThrottledAddressWaitsItsDelayBeforeTheCheck() async throws {
        let tracker = AuthFailureTracker(policy: AuthFailurePolicy(freeFailures: 0, baseDelay: .milliseconds(300)))
        tracker.recordFailure(from: "198.51.100.9", fingerprint: nil)
        let authenticator = SaslauthdAuthenticator(context: context(store), failures: tracker)
        let start = ContinuousClock.now
        let verdict = try await authenticator.authenticate(
            request("alice", "right", realm: "example.org", address: "198.51.100.9;1"),
            on: loop
        ).get()
        XCTAssertGreaterThanOrEqual(ContinuousClock.now - start, .milliseconds(290))
        XCTAssertEqual(verdict, .accepted(UserID(authid: Array("alice".utf8), realm: Array("example.org".utf8))))
    }

    func testRefusalWithoutAddressIsCountedForTheAccountAndAnsweredAfterItsDelay() async throws {
        let accounts = AuthFailureTracker(policy: AuthFailurePolicy(freeFailures: 0, baseDelay: .milliseconds(300)))
        let authenticator = SaslauthdAuthenticator(context: context(store), failures: nil, accountFailures: accounts)
        var start = ContinuousClock.now
        let refused = try await authenticator.authenticate(request("alice", "wrong", realm: "example.org"), on: loop)
            .get()
        XCTAssertEqual(refused, .refused)
        XCTAssertGreaterThanOrEqual(ContinuousClock.now - start, .milliseconds(290))
        XCTAssertEqual(accounts.failureCount(for: "alice@example.org"), 1)
        // The owner's right password is not slowed by the account's count.
        start = ContinuousClock.now
        let accepted = try await authenticator.authenticate(request("alice", "right", realm: "example.org"), on: loop)
            .get()
        XCTAssertEqual(accepted, .accepted(UserID(authid: Array("alice".utf8), realm: Array("example.org".utf8))))
        XCTAssertLessThan(ContinuousClock.now - start, .milliseconds(250))
    }

    func testReloadedContextIsUsedForTheNextRequest() async throws {
        let other = CredentialStore(backend: FileBackend(path: directory + "/other"))
        try other.setPassword(
            Array("elsewhere".utf8),
            for: UserID(authid: Array("alice".utf8), realm: Array("example.org".utf8))
        )
        let authenticator = SaslauthdAuthenticator(context: context(store), failures: nil)
        authenticator.updateContext(context(other))
        let verdict = try await authenticator.authenticate(
            request("alice", "elsewhere", realm: "example.org"),
            on: loop
        ).get()
        XCTAssertEqual(verdict, .accepted(UserID(authid: Array("alice".utf8), realm: Array("example.org".utf8))))
    }
}
