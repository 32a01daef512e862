import Foundation
import Synchronization
import XCTest

@testable import SASLDB

/// Whoever else may write the database's directory (a group with write access to it, as Debian's `sasl` group may
/// have) renames and replaces its entries while root writes: the write still lands in the database and nowhere else.
final class FileBackendSharedDirectoryTests: XCTestCase {
    private var directory = ""
    private let alice = UserID(authid: Array("alice".utf8), realm: Array("example.org".utf8))

    override func setUpWithError() throws {
        var template = Array("/tmp/sasldb-shared-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw POSIXError(.EIO) }
        directory = String(cString: made)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The names in the directory that carry the temporary marker.
    private func temporaryEntries() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains(".sasldb-tmp-") }.sorted()
    }

    /// The attacker's move at the moment the copy exists and the library is about to open it: every temporary entry of
    /// the shared directory is renamed away and a symbolic link to `victim` takes its name. Before the private
    /// directory, the copy itself was such an entry, reopened by name: the library followed the link and wrote
    /// `victim`, and the copy published afterwards could be a file the attacker had kept open.
    private func swapEntries(pointingAt victim: String) -> @Sendable () -> Void {
        let directory = directory
        return {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            for name in names where name.contains(".sasldb-tmp-") && !name.hasSuffix(".moved") {
                XCTAssertEqual(rename(directory + "/" + name, directory + "/" + name + ".moved"), 0)
                XCTAssertEqual(symlink(victim, directory + "/" + name), 0)
            }
        }
    }

    func testSwappingTheSharedDirectorysEntriesWhileAWriteIsInFlightCannotRedirectIt() throws {
        for format in DatabaseFormat.allCases {
            var options = FileBackendOptions()
            options.newFileFormat = format
            let path = "\(directory)/db-\(format.rawValue)"
            try CredentialStore(backend: FileBackend(path: path, options: options))
                .setPassword(Array("old".utf8), for: alice)
            // The victim is a valid database of the same format, so a redirected write would succeed in it.
            let victim = "\(directory)/victim-\(format.rawValue)"
            XCTAssertTrue(
                FileManager.default.createFile(
                    atPath: victim,
                    contents: try Data(contentsOf: .init(fileURLWithPath: path))
                )
            )
            let victimBefore = try Data(contentsOf: URL(fileURLWithPath: victim))

            let attacked = FileBackend(
                path: path,
                options: options,
                beforeApplyingToCopy: swapEntries(pointingAt: victim)
            )
            try CredentialStore(backend: attacked).setPassword(Array("new".utf8), for: alice)

            XCTAssertEqual(
                try Data(contentsOf: URL(fileURLWithPath: victim)),
                victimBefore,
                "\(format): victim written"
            )
            let store = CredentialStore(backend: FileBackend(path: path, options: options))
            XCTAssertTrue(try store.verify(password: Array("new".utf8), for: alice), "\(format)")
            var status = stat()
            XCTAssertEqual(lstat(path, &status), 0)
            XCTAssertEqual(status.st_mode & S_IFMT, S_IFREG, "\(format): the database is not a regular file")
            XCTAssertEqual(status.st_nlink, 1, "\(format)")
            // The planted links were left alone: the write never went through the shared directory's names.
            let planted = try temporaryEntries().filter { !$0.hasSuffix(".moved") }
            XCTAssertEqual(planted.count, 1, "\(format): \(planted)")
            for name in planted {
                XCTAssertEqual(
                    try FileManager.default.destinationOfSymbolicLink(atPath: directory + "/" + name),
                    victim
                )
                XCTAssertEqual(unlink(directory + "/" + name), 0)
            }
        }
    }

    func testSwappingTheEntriesWhileANewFileIsCreatedCannotRedirectItEither() throws {
        for format in DatabaseFormat.allCases {
            var options = FileBackendOptions()
            options.newFileFormat = format
            let victim = "\(directory)/victim-new-\(format.rawValue)"
            XCTAssertTrue(FileManager.default.createFile(atPath: victim, contents: Data("untouched".utf8)))
            let path = "\(directory)/new-\(format.rawValue)"

            let attacked = FileBackend(
                path: path,
                options: options,
                beforeApplyingToCopy: swapEntries(pointingAt: victim)
            )
            try CredentialStore(backend: attacked).setPassword(Array("first".utf8), for: alice)

            XCTAssertEqual(try String(contentsOfFile: victim, encoding: .utf8), "untouched", "\(format)")
            let store = CredentialStore(backend: FileBackend(path: path, options: options))
            XCTAssertTrue(try store.verify(password: Array("first".utf8), for: alice), "\(format)")
            for name in try temporaryEntries() where !name.hasSuffix(".moved") {
                XCTAssertEqual(unlink(directory + "/" + name), 0)
            }
        }
    }

    func testTheCopyIsBuiltInADirectoryOnlyTheWriterCanEnter() throws {
        let path = "\(directory)/db"
        try CredentialStore(backend: FileBackend(path: path)).setPassword(Array("old".utf8), for: alice)
        let directory = directory
        let seen = LockedList()
        let watching = FileBackend(path: path, options: FileBackendOptions()) {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            where name.contains(".sasldb-tmp-") {
                var status = stat()
                guard lstat(directory + "/" + name, &status) == 0 else { continue }
                seen.append("\(name) \(String(status.st_mode & 0o170777, radix: 8)) \(status.st_uid)")
            }
        }
        try CredentialStore(backend: watching).setPassword(Array("new".utf8), for: alice)
        let entries = seen.values
        XCTAssertEqual(entries.count, 1, "\(entries)")
        XCTAssertTrue(entries.first?.hasPrefix(".db.sasldb-tmp-\(getpid())-") == true, "\(entries)")
        XCTAssertTrue(entries.first?.hasSuffix(" 40700 \(geteuid())") == true, "\(entries)")
        XCTAssertEqual(try temporaryEntries(), [], "the private directory was left behind")
    }

    func testPrivateDirectoryOfADeadWriterIsRemovedAndALinkWithItsNameIsNotFollowed() throws {
        let path = "\(directory)/db"
        try CredentialStore(backend: FileBackend(path: path)).setPassword(Array("old".utf8), for: alice)
        // pid_max is at most 2^22, so these processes cannot exist.
        let stale = "\(directory)/.db.sasldb-tmp-4194305-abc"
        XCTAssertEqual(mkdir(stale, 0o700), 0)
        XCTAssertTrue(FileManager.default.createFile(atPath: stale + "/db", contents: Data([1, 2, 3])))
        let elsewhere = "\(directory)/elsewhere"
        XCTAssertEqual(mkdir(elsewhere, 0o755), 0)
        XCTAssertTrue(FileManager.default.createFile(atPath: elsewhere + "/keep", contents: Data([4])))
        XCTAssertEqual(symlink(elsewhere, "\(directory)/.db.sasldb-tmp-4194306-def"), 0)

        try CredentialStore(backend: FileBackend(path: path)).setPassword(Array("new".utf8), for: alice)

        XCTAssertEqual(try temporaryEntries(), [])
        XCTAssertTrue(FileManager.default.fileExists(atPath: elsewhere + "/keep"), "the link was followed")
    }
}

/// Strings collected by a hook that may run on any thread.
private final class LockedList: Sendable {
    private let items = Mutex<[String]>([])

    func append(_ item: String) {
        items.withLock { $0.append(item) }
    }

    var values: [String] {
        items.withLock { $0 }
    }
}
