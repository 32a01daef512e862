import Foundation
import XCTest

@testable import SASLDB

final class FileBackendTests: ScratchDirectoryTestCase {
    override class var scratchPrefix: String { "filebackend" }

    private let alice = UserID(authid: Array("alice".utf8), realm: Array("Example.COM".utf8))

    private func backend(_ name: String = "db", format: DatabaseFormat = .gdbm, group: gid_t? = nil) -> FileBackend {
        var options = FileBackendOptions()
        options.newFileFormat = format
        options.newFileGroup = group
        return FileBackend(path: "\(directory)/\(name)", options: options)
    }

    private func statusOf(_ path: String) throws -> stat {
        var status = stat()
        guard lstat(path, &status) == 0 else { throw POSIXError(.ENOENT) }
        return status
    }

    private func setAlice(_ backend: FileBackend, _ password: String = "secret") throws {
        try CredentialStore(backend: backend).setPassword(Array(password.utf8), for: alice)
    }

    func testNewFileIs0600WhateverTheUmask() throws {
        for format in DatabaseFormat.allCases {
            let old = umask(0)
            defer { umask(old) }
            let store = backend("db-\(format.rawValue)", format: format)
            try setAlice(store)
            XCTAssertEqual(try statusOf(store.path).st_mode & 0o7777, 0o600, "\(format)")
            XCTAssertEqual(try store.existingFormat(), format)
            XCTAssertTrue(try CredentialStore(backend: store).verify(password: Array("secret".utf8), for: alice))
        }
    }

    func testNewFileWithAGroupIs0640Or0660() throws {
        let store = backend(group: getegid())
        try setAlice(store)
        XCTAssertEqual(try statusOf(store.path).st_mode & 0o7777, 0o640)
        var options = FileBackendOptions()
        options.newFileGroup = getegid()
        options.newFileGroupWritable = true
        let writable = FileBackend(path: "\(directory)/db2", options: options)
        try setAlice(writable)
        XCTAssertEqual(try statusOf(writable.path).st_mode & 0o7777, 0o660)
    }

    func testEveryWriteReplacesTheFileAndKeepsOwnerGroupAndMode() throws {
        try XCTSkipUnless(geteuid() == 0, "changing the owner needs root")
        for format in DatabaseFormat.allCases {
            let store = backend("db-\(format.rawValue)", format: format)
            try setAlice(store, "first")
            XCTAssertEqual(chown(store.path, 65534, 65534), 0)
            XCTAssertEqual(chmod(store.path, 0o660), 0)
            let before = try statusOf(store.path)
            try setAlice(store, "second")
            let after = try statusOf(store.path)
            XCTAssertNotEqual(before.st_ino, after.st_ino, "a write must build a new file and rename it")
            XCTAssertEqual(after.st_uid, 65534)
            XCTAssertEqual(after.st_gid, 65534)
            XCTAssertEqual(after.st_mode & 0o7777, 0o660)
            XCTAssertTrue(try CredentialStore(backend: store).verify(password: Array("second".utf8), for: alice))
        }
    }

    func testSymlinkIsRefusedForReadingAndWriting() throws {
        let store = backend("real")
        try setAlice(store)
        let link = "\(directory)/link"
        XCTAssertEqual(symlink(store.path, link), 0)
        let linked = FileBackend(path: link)
        for attempt in [{ _ = try linked.records() }, { try self.setAlice(linked, "other") }] {
            XCTAssertThrowsError(try attempt()) { error in
                guard case SASLDBError.insecureFile(_, let reason, _) = error else { return XCTFail("\(error)") }
                XCTAssertTrue(reason.contains("symbolic link"))
            }
        }
        XCTAssertTrue(try CredentialStore(backend: store).verify(password: Array("secret".utf8), for: alice))
    }

    func testWorldWritableFileIsRefusedWithTheFix() throws {
        let store = backend()
        try setAlice(store)
        XCTAssertEqual(chmod(store.path, 0o666), 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: store.path))
        XCTAssertThrowsError(try setAlice(store, "other")) { error in
            XCTAssertTrue("\(error)".contains("chmod o-w"), "\(error)")
        }
        XCTAssertThrowsError(try store.records())
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: store.path)), before)
    }

    func testHardLinkedFileIsRefusedSoTheLinkIsNotCut() throws {
        let store = backend()
        try setAlice(store)
        XCTAssertEqual(link(store.path, "\(directory)/chroot-copy"), 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: store.path))
        XCTAssertThrowsError(try setAlice(store, "other")) { error in
            XCTAssertTrue("\(error)".contains("hard links"), "\(error)")
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: store.path)), before)
        XCTAssertNoThrow(try store.records(), "reading a linked file is fine")
    }

    func testForeignFileIsNamedAndLeftAlone() throws {
        let path = "\(directory)/db"
        let sqlite = Data("SQLite format 3\u{0}".utf8) + Data(repeating: 0, count: 4080)
        try sqlite.write(to: URL(fileURLWithPath: path))
        let store = backend()
        XCTAssertThrowsError(try setAlice(store)) { error in
            guard case SASLDBError.notADatabase(_, let looksLike) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(looksLike.contains("SQLite"), looksLike)
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), sqlite)
    }

    func testEmptyPreparedFileBecomesADatabaseKeepingItsMode() throws {
        let path = "\(directory)/db"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: nil))
        XCTAssertEqual(chmod(path, 0o640), 0)
        let store = backend(format: .berkeleyDB)
        XCTAssertEqual(try store.records(), [])
        try setAlice(store)
        XCTAssertEqual(try store.existingFormat(), .berkeleyDB)
        XCTAssertEqual(try statusOf(path).st_mode & 0o7777, 0o640)
    }

    func testMissingFileReadsAsNoUserButListingSaysItIsMissing() throws {
        let store = backend()
        XCTAssertEqual(try store.fetch(alice, properties: [.userPassword]), [:])
        XCTAssertThrowsError(try store.records()) {
            XCTAssertEqual($0 as? SASLDBError, .fileNotFound(path: store.path))
        }
    }

    func testTemporaryFileOfADeadWriterIsRemovedByTheNextWrite() throws {
        let store = backend()
        try setAlice(store)
        // pid_max is at most 2^22, so this process cannot exist.
        let stale = "\(directory)/.db.sasldb-tmp-4194305-abc"
        XCTAssertTrue(FileManager.default.createFile(atPath: stale, contents: Data([1, 2, 3])))
        try setAlice(store, "again")
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale))
        let left = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains("sasldb-tmp") }
        XCTAssertEqual(left, [])
    }

    func testWriterGivesUpWithBusyWhenAnotherHoldsTheLock() throws {
        var options = FileBackendOptions()
        options.lockTimeoutMilliseconds = 300
        let store = FileBackend(path: "\(directory)/db", options: options)
        try setAlice(store)
        let before = try Data(contentsOf: URL(fileURLWithPath: store.path))
        let fd = open(store.path, O_RDWR)
        defer { close(fd) }
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        let ofdSetLock: Int32 = 37  // F_OFD_SETLK, hidden by Swift's Glibc module
        XCTAssertEqual(fcntl(fd, ofdSetLock, &lock), 0)
        XCTAssertThrowsError(try setAlice(store, "other")) { error in
            guard case SASLDBError.busy = error else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("database busy"))
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: store.path)), before)
    }

    func testABatchThatCreatesTheFileStillHonoursDeletesAndMovesOfItsOwnPuts() throws {
        let store = backend()
        let key = RecordKey(user: alice, property: .userPassword)
        let other = RecordKey(user: alice, property: .cramMD5)
        try store.apply(
            WriteBatch([
                .put(key, [1]), .delete(key), .put(other, [2]),
                .moveProperty(alice, from: .cramMD5, to: CredentialStore.disabledProperty(.cramMD5)),
            ])
        )
        XCTAssertEqual(
            try store.records().map(\.key),
            [RecordKey(user: alice, property: CredentialStore.disabledProperty(.cramMD5))]
        )
    }
}
