import Foundation
import Logging
import NIOCore
import PasswordChange
import PasswordService
import SASLDB
import SASLMechanisms
import SMTPSubmission
import ServiceLifecycle
import Synchronization
import XCTest

/// A database file in a temporary directory, a poppassd server on 127.0.0.1 (and optionally a local socket) and an
/// SMTP server with a plain listener allowing PLAIN, both reading that file, run in one `ServiceGroup`.
final class PasswordServiceFixture: Sendable {
    static let realm = "example.org"

    let directory: String
    let store: CredentialStore
    let poppassd: PoppassdServer
    let smtp: SMTPServer
    let poppassdPort: Int
    let smtpPort: Int
    let localSocketPath: String?
    private let audits = AuditLog()
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    /// The audit records so far.
    var auditRecords: [PasswordChangeAudit] { audits.records.withLock { $0 } }

    /// Starts the servers; `users` maps logins (`alice`) to passwords, stored in realm ``realm``. A `writer` makes
    /// the changes instead of the in-process changer, which takes `changeTime` longer than it would (its audit waits,
    /// as a changer hashing with many iterations or waiting for the database's lock would).
    init(
        users: [String: String],
        localSocket: Bool = false,
        writer: (any PasswordChanging)? = nil,
        changeTime: useconds_t = 0,
        adjust: (inout PoppassdServerConfiguration) -> Void = { _ in }
    ) throws {
        let directory = NSTemporaryDirectory() + "passwordservice-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        // The local socket test connects as an unprivileged user, who must reach the socket inside.
        chmod(directory, 0o755)
        self.directory = directory
        store = CredentialStore(backend: FileBackend(path: directory + "/sasldb2"))
        for (login, password) in users {
            try store.setPassword(Array(password.utf8), for: Self.user(login))
        }
        let logger = Logger(label: "password-service-test") { _ in SwiftLogNoOpLogHandler() }
        let audits = self.audits
        let changer = PasswordChanger(store: store, defaultRealm: Self.realm) { record in
            if changeTime > 0 { usleep(changeTime) }
            audits.records.withLock { $0.append(record) }
        }
        var configuration = PoppassdServerConfiguration(
            listeners: [.init(host: "127.0.0.1", port: 0, implicitTLS: false)],
            localSocketPath: localSocket ? directory + "/passwd.sock" : nil,
            sessionLimits: PoppassdSession.Limits(failurePause: .zero),
            drainTimeout: .seconds(5)
        )
        adjust(&configuration)
        localSocketPath = configuration.localSocketPath
        poppassd = try PoppassdServer(configuration: configuration, changer: changer, writer: writer, logger: logger)
        let context = SASLServerContext(lookup: store, hostName: "mx.example.org", defaultRealm: Self.realm)
        smtp = try SMTPServer(
            configuration: SMTPServerConfiguration(
                listeners: [.init(host: "127.0.0.1", port: 0, kind: .plain)],
                maximumConnectionsPerAddress: 100,
                drainTimeout: .seconds(5)
            ),
            sessionConfiguration: SMTPSessionConfiguration(
                hostName: "mx.example.org",
                saslContext: context,
                mechanisms: MechanismPolicy(enabled: ["PLAIN"], allowedWithoutTLS: ["PLAIN"]),
                requiresTLS: false,
                clock: { SMTPTimestamp(secondsSince1970: 0, utcOffsetSeconds: 0) }
            ),
            sink: DiscardingSink(),
            logger: logger
        )
        group = ServiceGroup(configuration: .init(services: [poppassd, smtp], logger: logger))
        let group = self.group
        task = Task { try await group.run() }
        let poppassd = self.poppassd
        let smtp = self.smtp
        let ports = try Self.wait {
            (try await poppassd.listeningAddresses(), try await smtp.listeningAddresses())
        }
        poppassdPort = ports.0.first?.port ?? 0
        smtpPort = ports.1.first?.port ?? 0
    }

    static func user(_ login: String) -> UserID {
        UserID(authid: Array(login.utf8), realm: Array(realm.utf8))
    }

    /// Whether `password` is `login`'s password now.
    func verify(_ login: String, _ password: String) throws -> Bool {
        try store.verify(password: Array(password.utf8), for: Self.user(login))
    }

    /// Stops both servers gracefully and removes the directory.
    func stop() {
        let group = self.group
        let task = self.task
        _ = try? Self.wait {
            await group.triggerGracefulShutdown()
            try await task.value
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs `body` on a task and blocks the calling (non-pool) thread until it is done, at most 20 seconds.
    static func wait<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let result = Mutex<Result<T, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let task = Task.detached {
            let outcome: Result<T, any Error>
            do {
                outcome = .success(try await body())
            } catch {
                outcome = .failure(error)
            }
            result.withLock { $0 = outcome }
            done.signal()
        }
        guard done.wait(timeout: .now() + 20) == .success else {
            task.cancel()
            throw LineClient.Failure(description: "timed out waiting for the servers")
        }
        guard let outcome = result.withLock({ $0 }) else { throw LineClient.Failure(description: "no result") }
        return try outcome.get()
    }
}

/// The audit records a changer produced.
final class AuditLog: Sendable {
    let records = Mutex<[PasswordChangeAudit]>([])
}

/// Accepts no message: these tests only authenticate.
struct DiscardingSink: MessageSink {
    func deliver(_ message: SubmittedMessage) async throws(MessageSinkError) {}
}
