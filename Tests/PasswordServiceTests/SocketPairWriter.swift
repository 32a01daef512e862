import Foundation
import PasswordChange
import PasswordService
import SASLDB
import Synchronization
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The writer's real loop (``PasswordWriter``) over a real database in a temporary directory, serving one end of a
/// `SOCK_SEQPACKET` socket pair on a thread of its own; the other end is the daemon's, which the caller closes.
/// The changer's audit calls `audit` inside the change, which is how a test makes the writer slow.
final class SocketPairWriter: Sendable {
    static let realm = "example.org"

    /// The daemon's end.
    let daemonEnd: Int32
    /// The database the writer changes.
    let store: CredentialStore
    private let directory: String
    private let result = Mutex<Result<Void, PasswordWriter.Failure>?>(nil)
    private let done = DispatchSemaphore(value: 0)

    /// Starts the writer over a database holding `users` (logins in ``realm`` and their passwords).
    init(users: [String: String], audit: @escaping @Sendable (PasswordChangeAudit) -> Void = { _ in }) throws {
        directory = NSTemporaryDirectory() + "passwordwriter-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        store = CredentialStore(backend: FileBackend(path: directory + "/sasldb2"))
        for (login, password) in users { try store.setPassword(Array(password.utf8), for: Self.user(login)) }
        let changer = PasswordChanger(store: store, defaultRealm: Self.realm, audit: audit)
        var ends: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue), 0, &ends) == 0 else {
            throw LineClient.Failure(description: "socketpair: \(errno)")
        }
        daemonEnd = ends[0]
        let writerEnd = ends[1]
        Thread.detachNewThread { [self] in
            let outcome: Result<Void, PasswordWriter.Failure>
            do throws(PasswordWriter.Failure) {
                try PasswordWriter.serve(socket: writerEnd, changer: changer)
                outcome = .success(())
            } catch {
                outcome = .failure(error)
            }
            close(writerEnd)
            self.result.withLock { $0 = outcome }
            self.done.signal()
        }
    }

    static func user(_ login: String) -> UserID {
        UserID(authid: Array(login.utf8), realm: Array(realm.utf8))
    }

    /// Whether `password` is `login`'s password now.
    func verify(_ login: String, _ password: String) throws -> Bool {
        try store.verify(password: Array(password.utf8), for: Self.user(login))
    }

    /// How the loop ended, waiting up to ten seconds; `nil` when it has not.
    func waitForEnd() -> Result<Void, PasswordWriter.Failure>? {
        guard done.wait(timeout: .now() + 10) == .success else { return nil }
        return result.withLock { $0 }
    }

    /// Removes the database's directory (once the loop has ended).
    func removeDirectory() {
        try? FileManager.default.removeItem(atPath: directory)
    }
}
