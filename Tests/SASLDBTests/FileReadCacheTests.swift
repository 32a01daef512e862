import Foundation
import XCTest

@testable import SASLDB

/// The lookup cache of ``FileBackend`` against real writers: Cyrus's `saslpasswd2` (in place), our own writer (a new
/// file renamed in) and a file renamed over the store; a change is seen at the very next lookup.
final class FileReadCacheTests: ScratchDirectoryTestCase {
    override class var scratchPrefix: String { "readcache" }

    private let alice = UserID(authid: Array("alice".utf8), realm: Array("Example.COM".utf8))

    /// A backend whose cache believes every file settled: ten seconds ahead of the wall clock, so what it reads is
    /// kept even though the test has just written it.
    private func settledBackend(_ path: String) -> FileBackend {
        FileBackend(
            path: path,
            options: FileBackendOptions(),
            cache: FileReadCache { FileReadCache.wallClock() + 10_000_000_000 }
        )
    }

    /// Sets alice's password with Cyrus's `saslpasswd2` (a Berkeley DB file, written in place).
    private func saslpasswd2(_ file: String, _ password: String) throws {
        let result = try SASLDBTests.saslpasswd2(
            file,
            authid: "alice",
            realm: "Example.COM",
            password: password,
            configDirectory: directory
        )
        XCTAssertEqual(result.status, 0, result.stderr)
    }

    private func password(_ backend: FileBackend) throws -> String? {
        try CredentialStore(backend: backend).secrets(of: alice).plaintext.map { String(decoding: $0, as: UTF8.self) }
    }

    func testASettledFileIsReadOnceForManyLookups() throws {
        let file = path("sasldb2")
        try saslpasswd2(file, "first-secret")
        let backend = settledBackend(file)
        for _ in 0..<5 { XCTAssertEqual(try password(backend), "first-secret") }
        XCTAssertEqual(backend.cache.fileReads, 1)
    }

    func testAChangeBySaslpasswd2IsSeenAtTheNextLookup() throws {
        let file = path("sasldb2")
        try saslpasswd2(file, "first-secret")
        let backend = settledBackend(file)
        XCTAssertEqual(try password(backend), "first-secret")
        XCTAssertEqual(try password(backend), "first-secret")
        // Same length, same file size: only the times tell the versions apart.
        try saslpasswd2(file, "other-secret")
        XCTAssertEqual(try password(backend), "other-secret")
        XCTAssertEqual(backend.cache.fileReads, 2)
    }

    func testChangesWithinOneSecondAreEachSeenAtTheNextLookup() throws {
        let file = path("sasldb2")
        let backend = FileBackend(path: file)
        let store = CredentialStore(backend: backend)
        for round in 0..<4 {
            try saslpasswd2(file, "cyrus-secret-\(round)")
            XCTAssertEqual(try password(backend), "cyrus-secret-\(round)")
            try store.setPassword(Array("ours-secret-\(round)".utf8), for: alice)
            XCTAssertEqual(try password(backend), "ours-secret-\(round)")
        }
        // A file written within the last seconds is read at every lookup: its times cannot yet prove a later change.
        XCTAssertEqual(backend.cache.fileReads, 8)
    }

    func testAFileRenamedOverTheStoreIsSeenAtTheNextLookup() throws {
        let file = path("sasldb2")
        let replacement = path("sasldb2.new")
        try saslpasswd2(file, "first-secret")
        try saslpasswd2(replacement, "newer-secret")
        let backend = settledBackend(file)
        XCTAssertEqual(try password(backend), "first-secret")
        XCTAssertEqual(rename(replacement, file), 0)
        XCTAssertEqual(try password(backend), "newer-secret")
    }

    func testOurOwnWriteIsSeenAtTheNextLookup() throws {
        let file = path("sasldb2")
        let backend = settledBackend(file)
        let store = CredentialStore(backend: backend)
        try store.setPassword(Array("first-secret".utf8), for: alice)
        XCTAssertEqual(try password(backend), "first-secret")
        try store.setPassword(Array("other-secret".utf8), for: alice)
        XCTAssertEqual(try password(backend), "other-secret")
    }

    func testARemovedFileHoldsNoUser() throws {
        let file = path("sasldb2")
        try saslpasswd2(file, "first-secret")
        let backend = settledBackend(file)
        XCTAssertEqual(try password(backend), "first-secret")
        XCTAssertEqual(unlink(file), 0)
        XCTAssertNil(try password(backend))
    }

    func testValuesOfAFileChangedWithinTheSettlingTimeAreNotKept() {
        let cache = FileReadCache()
        let now = FileReadCache.wallClock()
        var status = stat()
        status.st_ino = 42
        status.st_ctim = timespec(tv_sec: Int(now / 1_000_000_000) - 1, tv_nsec: 0)
        status.st_mtim = status.st_ctim
        cache.store([.userPassword: [1]], user: alice, properties: [.userPassword], status: status, readAt: now)
        XCTAssertNil(cache.values(user: alice, properties: [.userPassword], status: status))

        status.st_ctim.tv_sec -= 3
        status.st_mtim = status.st_ctim
        cache.store([.userPassword: [1]], user: alice, properties: [.userPassword], status: status, readAt: now)
        XCTAssertEqual(cache.values(user: alice, properties: [.userPassword], status: status), [.userPassword: [1]])
        XCTAssertNil(cache.values(user: alice, properties: [.cramMD5], status: status))
        status.st_size += 1
        XCTAssertNil(cache.values(user: alice, properties: [.userPassword], status: status))
    }
}
