import AuthService
import Foundation
import Logging
import NIOCore
import SASLDB
import SASLMechanisms
import ServerKit
import XCTest

/// A database in a temporary directory and a ``SaslauthdServer`` reading it on a socket in that directory, run in a
/// task of its own until ``stop()``.
final class SaslauthdFixture: Sendable {
    static let realm = "example.org"

    let directory: String
    let database: String
    let store: CredentialStore
    let server: SaslauthdServer
    let failures: AuthFailureTracker
    let accountFailures: AuthFailureTracker
    let socketPaths: [String]
    private let task: Task<Void, any Error>

    /// Starts a server on `sockets` sockets; `users` maps logins (`alice`) to passwords in ``realm``.
    init(
        users: [String: String],
        policy: SecretPolicy = .cyrusDefault,
        sockets: Int = 1,
        failurePolicy: AuthFailurePolicy = AuthFailurePolicy(),
        configure: (inout SaslauthdServerConfiguration) -> Void = { _ in }
    ) async throws {
        let directory = NSTemporaryDirectory() + "saslauthd-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        // testsaslauthd and the benchmark's peers may run as other users; the socket is what matters.
        chmod(directory, 0o755)
        self.directory = directory
        database = directory + "/sasldb2"
        store = CredentialStore(backend: FileBackend(path: database), policy: policy)
        for (login, password) in users {
            try store.setPassword(
                Array(password.utf8),
                for: UserID(authid: Array(login.utf8), realm: Array(Self.realm.utf8))
            )
        }
        let failures = AuthFailureTracker(policy: failurePolicy)
        self.failures = failures
        let accountFailures = AuthFailureTracker(policy: failurePolicy)
        self.accountFailures = accountFailures
        socketPaths = (0..<sockets).map { "\(directory)/mux\($0 == 0 ? "" : String($0))" }
        var configuration = SaslauthdServerConfiguration(socketPaths: socketPaths)
        configure(&configuration)
        let context = SASLServerContext(lookup: store, hostName: "mail.example.org", defaultRealm: Self.realm)
        let server = try SaslauthdServer(
            configuration: configuration,
            authenticator: SaslauthdAuthenticator(
                context: context,
                failures: failures,
                accountFailures: accountFailures
            ),
            logger: Logger(label: "saslauthd-test") { _ in SwiftLogNoOpLogHandler() }
        )
        self.server = server
        task = Task { try await server.run() }
        _ = try await server.listeningAddresses()
    }

    /// The first socket's path.
    var socketPath: String { socketPaths[0] }

    /// Stops the server and removes the directory.
    func stop() async {
        task.cancel()
        _ = try? await task.value
        try? FileManager.default.removeItem(atPath: directory)
    }
}
