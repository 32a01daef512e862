import Foundation
import Logging
import NIOCore
import SASLDB
import SASLMechanisms
import ServerKit
import ServiceLifecycle
import XCTest

@testable import AuthService

/// The server over a real Unix-domain socket: handshake, a login, a refused one, a long line, the socket's mode, a
/// changed password taken at the next request, graceful shutdown.
final class DovecotAuthServerTests: XCTestCase {
    private var directory = ""
    private var socketPath: String { directory + "/auth" }

    override func setUpWithError() throws {
        directory = try makeTestDirectory(for: self)
    }

    /// Runs a server on the socket while `body` runs, then shuts it down gracefully.
    private func withServer(
        store: CredentialStore,
        tracker: AuthFailureTracker = AuthFailureTracker(),
        _ body: @escaping @Sendable () async throws -> Void
    ) async throws {
        let context = SASLServerContext(lookup: store, hostName: "mail.example.org", defaultRealm: "example.org")
        let server = try DovecotAuthServer(
            configuration: DovecotAuthServerConfiguration(
                localSocket: .init(path: socketPath, mode: 0o660),
                connection: .init(context: context, scramIterations: 64),
                failureDelay: .milliseconds(10),
                maximumFailureDelay: .milliseconds(200)
            ),
            clientFailures: tracker,
            logger: Logger(label: "dovecot-test")
        )
        try await serving(server, body)
    }

    func testPlainLoginOverTheSocketAnswersOKAndAWrongPasswordFAIL() async throws {
        let store = try makeTestStore(in: directory, users: [("alice@example.org", "secret")])
        let tracker = AuthFailureTracker()
        let path = socketPath
        try await withServer(store: store, tracker: tracker) {
            var status = stat()
            XCTAssertEqual(stat(path, &status), 0)
            XCTAssertEqual(status.st_mode & 0o777, 0o660)
            let client = try DovecotSocketClient(path: path)
            try client.send("VERSION\t1\t2\nCPID\t99")
            let handshake = try client.readHandshake()
            XCTAssertEqual(handshake.first, "VERSION\t1\t2")
            XCTAssertEqual(handshake.last, "DONE")
            let good = Base64.encode(Array("\0alice\0secret".utf8))
            try client.send("AUTH\t1\tPLAIN\tservice=smtp\trip=192.0.2.9\tsecured\tresp=\(good)")
            XCTAssertEqual(try client.readLine(), "OK\t1\tuser=alice@example.org")
            let bad = Base64.encode(Array("\0alice\0wrong".utf8))
            try client.send("AUTH\t2\tPLAIN\tservice=smtp\trip=192.0.2.9\tsecured\tresp=\(bad)")
            XCTAssertEqual(try client.readLine(), "FAIL\t2\treason=Authentication failed")
            XCTAssertEqual(tracker.failureCount(for: "192.0.2.9"), 1, "the failure is counted by rip=")
        }
    }

    func testAChangedPasswordWorksAtTheNextRequest() async throws {
        let store = try makeTestStore(in: directory, users: [("alice@example.org", "old-secret")])
        let alice = try UserID(parsing: "alice@example.org", defaultRealm: "example.org")
        let path = socketPath
        try await withServer(store: store) {
            let client = try DovecotSocketClient(path: path)
            _ = try client.readHandshake()
            try store.setPassword(Array("new-secret".utf8), for: alice)
            let new = Base64.encode(Array("\0alice\0new-secret".utf8))
            try client.send("AUTH\t1\tPLAIN\tservice=smtp\tsecured\tresp=\(new)")
            XCTAssertEqual(try client.readLine(), "OK\t1\tuser=alice@example.org")
        }
    }

    func testALineLongerThan16KiBClosesTheConnection() async throws {
        let store = try makeTestStore(in: directory, users: [])
        let path = socketPath
        try await withServer(store: store) {
            let client = try DovecotSocketClient(path: path)
            _ = try client.readHandshake()
            try client.send(bytes: Array(repeating: UInt8(ascii: "A"), count: 20_000))
            XCTAssertNil(try client.readLine(), "the server closes the connection")
        }
    }
}
