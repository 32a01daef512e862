import Foundation
import Synchronization
import XCTest

@testable import SASLDB

/// Whoever else may write the database's directory (a group with write access to it, as Debian's `sasl` group may
/// have) renames and replaces its entries while root writes: the write still lands in the database and nowhere else.
final class FileBackendSharedDirectoryTests: ScratchDirectoryTestCase {
    override class var scratchPrefix: String { "shared" }

    private let alice = UserID(authid: Array("alice".utf8), realm: Array("example.org".utf8))

    /// The names in the directory that carry the temporary marker.
    private func temporaryEntries() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains(".sasldb-tmp-") }.sorted()
    }

    /// The attacker's move at the moment the copy exists and the library is about to open it: every temporary entry of
    /// the shared directory is renamed away and `plant` puts something of the attacker's at its path. Before the
    /// private directory, the copy itself was such an entry, reopened by name by the library, then chowned and renamed
    /// over the database by name.
    private func swapEntries(planting plant: @escaping @Sendable (String) -> Void) -> @Sendable () -> Void {
        let directory = directory
        return {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            for name in names where name.contains(".sasldb-tmp-") && !name.hasSuffix(".moved") {
                XCTAssertEqual(rename(directory + "/" + name, directory + "/" + name + ".moved"), 0)
                plant(directory + "/" + name)
            }
        }
    }

    /// A database of `format` holding alice's old password, and its options.
    private func makeDatabase(_ format: DatabaseFormat) throws -> (path: String, options: FileBackendOptions) {
        var options = FileBackendOptions()
        options.newFileFormat = format
        let path = "\(directory)/db-\(format.rawValue)"
        try CredentialStore(backend: FileBackend(path: path, options: options)).setPassword(
            Array("old".utf8),
            for: alice
        )
        return (path, options)
    }

    /// Alice's password at `path` is `new`, the file a plain regular file with one link, and the entries planted in the
    /// shared directory are still there (the write never went through its names); they are removed.
    private func checkWritten(_ path: String, _ options: FileBackendOptions, format: DatabaseFormat) throws {
        let store = CredentialStore(backend: FileBackend(path: path, options: options))
        XCTAssertTrue(try store.verify(password: Array("new".utf8), for: alice), "\(format)")
        var status = stat()
        XCTAssertEqual(lstat(path, &status), 0)
        XCTAssertEqual(status.st_mode & S_IFMT, S_IFREG, "\(format): the database is not a regular file")
        XCTAssertEqual(status.st_nlink, 1, "\(format)")
        let planted = try temporaryEntries().filter { !$0.hasSuffix(".moved") }
        XCTAssertEqual(planted.count, 1, "\(format): \(planted)")
        for name in planted { XCTAssertEqual(unlink(directory + "/" + name), 0) }
    }

    /// The old layout: the library followed the link and wrote the victim (then the chown by name failed).
    func testALinkSwappedInWhileAWriteIsInFlightIsNeverFollowed() throws {
        for format in DatabaseFormat.allCases {
            let (path, options) = try makeDatabase(format)
            // The victim is a valid database of the same format, so a redirected write would succeed in it.
            let victim = "\(directory)/victim-\(format.rawValue)"
            let victimBefore = try Data(contentsOf: URL(fileURLWithPath: path))
            XCTAssertTrue(FileManager.default.createFile(atPath: victim, contents: victimBefore))

            let swap = swapEntries { XCTAssertEqual(symlink(victim, $0), 0) }
            let attacked = FileBackend(path: path, options: options, beforeApplyingToCopy: swap)
            let written = Result { try CredentialStore(backend: attacked).setPassword(Array("new".utf8), for: alice) }

            XCTAssertEqual(
                try Data(contentsOf: URL(fileURLWithPath: victim)),
                victimBefore,
                "\(format): victim written"
            )
            XCTAssertNoThrow(try written.get(), "\(format)")
            try checkWritten(path, options, format: format)
        }
    }

    /// The old layout: the library wrote the attacker's file, root gave it the database's owner and renamed it over the
    /// database, and the attacker's descriptor could change the live database from then on.
    func testAFileOfTheAttackersSwappedInWhileAWriteIsInFlightIsNeverPublished() throws {
        for format in DatabaseFormat.allCases {
            let (path, options) = try makeDatabase(format)
            let contents = try Data(contentsOf: URL(fileURLWithPath: path))
            let held = LockedList<Int32>()
            let swap = swapEntries { planted in
                // A copy of the database, so the library accepts it, kept open for writing by the attacker.
                XCTAssertTrue(FileManager.default.createFile(atPath: planted, contents: contents))
                let fd = open(planted, O_RDWR)
                XCTAssertGreaterThanOrEqual(fd, 0)
                held.append(fd)
            }
            let attacked = FileBackend(path: path, options: options, beforeApplyingToCopy: swap)
            let written = Result { try CredentialStore(backend: attacked).setPassword(Array("new".utf8), for: alice) }

            let descriptors = held.values
            XCTAssertEqual(descriptors.count, 1, "\(format)")
            var published = stat()
            XCTAssertEqual(lstat(path, &published), 0)
            for fd in descriptors {
                var attackers = stat()
                XCTAssertEqual(fstat(fd, &attackers), 0)
                XCTAssertFalse(
                    attackers.st_dev == published.st_dev && attackers.st_ino == published.st_ino,
                    "\(format): the attacker's open file became the database"
                )
                XCTAssertEqual(read(wholeFile: fd), contents, "\(format): the attacker's file was written")
                close(fd)
            }
            XCTAssertNoThrow(try written.get(), "\(format)")
            try checkWritten(path, options, format: format)
        }
    }

    func testSwappingTheEntriesWhileANewFileIsCreatedCannotRedirectItEither() throws {
        for format in DatabaseFormat.allCases {
            var options = FileBackendOptions()
            options.newFileFormat = format
            let victim = "\(directory)/victim-new-\(format.rawValue)"
            XCTAssertTrue(FileManager.default.createFile(atPath: victim, contents: Data("untouched".utf8)))
            let path = "\(directory)/new-\(format.rawValue)"

            let swap = swapEntries { XCTAssertEqual(symlink(victim, $0), 0) }
            let attacked = FileBackend(path: path, options: options, beforeApplyingToCopy: swap)
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
        let seen = LockedList<String>()
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

    /// The whole contents of the open file `fd`.
    private func read(wholeFile fd: Int32) -> Data {
        var contents = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        var offset: off_t = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, offset) }
            if count <= 0 { return contents }
            contents.append(contentsOf: buffer[0..<count])
            offset += off_t(count)
        }
    }
}

/// Values collected by a hook that may run on any thread.
private final class LockedList<Element: Sendable>: Sendable {
    private let items = Mutex<[Element]>([])

    func append(_ item: Element) {
        items.withLock { $0.append(item) }
    }

    var values: [Element] {
        items.withLock { $0 }
    }
}
