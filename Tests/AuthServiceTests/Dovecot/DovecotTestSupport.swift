import Foundation
import Logging
import SASLDB
import ServerKitTestSupport
import ServiceLifecycle
import XCTest

@testable import AuthService

/// A fresh directory under /tmp, mode 0755 (Postfix's and Exim's accounts reach the sockets in it), removed when
/// `test` ends.
func makeTestDirectory(for test: XCTestCase) throws -> String {
    var template = Array("/tmp/sasldb-dovecot-XXXXXX".utf8CString)
    guard let created = mkdtemp(&template) else { throw TestSupportError("mkdtemp: errno \(errno)") }
    let directory = String(cString: created)
    chmod(directory, 0o755)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: directory) }
    return directory
}

/// A sasldb2 file in `directory` through the one factory, every secret written, with `users` (login, password).
func makeTestStore(
    in directory: String,
    users: [(String, String)],
    scramIterations: Int = 64
) throws -> CredentialStore {
    var configuration = StoreConfiguration()
    configuration.location = .file(path: directory + "/sasldb2")
    configuration.secretPolicy = SecretPolicy(
        plaintext: true,
        cramMD5: true,
        digestMD5: true,
        scram: .sha256,
        scramIterations: scramIterations
    )
    let store = StoreFactory.makeStore(configuration)
    for (login, password) in users {
        try store.setPassword(Array(password.utf8), for: UserID(parsing: login, defaultRealm: "example.org"))
    }
    return store
}

/// Runs `body` while `server` serves, then stops it gracefully (also when `body` throws).
func serving(_ server: DovecotAuthServer, _ body: () async throws -> Void) async throws {
    let group = ServiceGroup(services: [server], logger: Logger(label: "dovecot-test"))
    let task = Task { try await group.run() }
    _ = try await server.listeningAddresses()
    do {
        try await body()
    } catch {
        await group.triggerGracefulShutdown()
        _ = await task.result
        throw error
    }
    await group.triggerGracefulShutdown()
    try await task.value
}

/// A peer that is missing: fails in CI (`.ci/run` provides every peer), skips elsewhere, with `reason`.
func missingPeer(_ reason: String) throws -> Never {
    if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail("\(reason): .ci/run must provide it") }
    throw XCTSkip(reason)
}
