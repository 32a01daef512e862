import SASLDB
import XCTest

/// A backend that lives outside `SASLDB` serves every store operation: what ``CredentialBackend`` asks for is public.
final class ExternalBackendTests: XCTestCase {
    private let alice = UserID(authid: Array("alice".utf8), realm: Array("example.org".utf8))
    private let bob = UserID(authid: Array("bob".utf8), realm: Array("example.org".utf8))

    func testEveryStoreOperationWorksOnABackendOutsideTheLibrary() throws {
        let store = CredentialStore(backend: DictionaryBackend(), policy: .noPlaintext)
        try store.setPassword(Array("Quartz-river-1".utf8), for: alice)
        try store.setPassword(Array("Quartz-river-2".utf8), for: bob)
        XCTAssertTrue(try store.verify(password: Array("Quartz-river-1".utf8), for: alice))
        XCTAssertFalse(try store.verify(password: Array("Quartz-river-2".utf8), for: alice))
        XCTAssertNil(try store.secrets(of: alice).plaintext)
        XCTAssertNotNil(try store.secrets(of: alice).scram)

        let users = try store.users()
        XCTAssertEqual(users.map(\.user), [alice, bob])
        XCTAssertEqual(
            users.first?.properties,
            [Property.authPassword, Property.cramMD5, Property.digestMD5].sorted()
        )

        try store.disable(alice)
        XCTAssertFalse(try store.verify(password: Array("Quartz-river-1".utf8), for: alice))
        XCTAssertEqual(try store.users().first?.isDisabled, true)
        try store.enable(alice)
        XCTAssertTrue(try store.verify(password: Array("Quartz-river-1".utf8), for: alice))

        XCTAssertTrue(try store.deleteUser(bob))
        XCTAssertFalse(try store.exists(bob))
        XCTAssertFalse(try store.deleteUser(bob))
    }

    func testItHoldsTheSameRecordsAsTheLibrarysOwnMemoryBackend() throws {
        let dump = try exportedRecords(of: CredentialStore(backend: DictionaryBackend()))
        let reference = try exportedRecords(of: CredentialStore(backend: MemoryBackend()))
        XCTAssertEqual(dump, reference)
    }

    /// Imports the same users into `store` and returns its records as the dump format prints them.
    private func exportedRecords(of store: CredentialStore) throws -> [UInt8] {
        try store.importPasswords([(alice, Array("Quartz-river-1".utf8)), (bob, Array("Quartz-river-2".utf8))])
        let records = try store.records().sorted { $0.key.bytes.lexicographicallyPrecedes($1.key.bytes) }
        return DumpFormat.encode(records)
    }

    func testAFailedBatchChangesNothing() throws {
        let backend = DictionaryBackend()
        let store = CredentialStore(backend: backend)
        try store.setPassword(Array("Quartz-river-1".utf8), for: alice)
        let before = try backend.records()
        let empty = RecordKey(authid: [], realm: Array("example.org".utf8), property: Array("userPassword".utf8))
        XCTAssertThrowsError(
            try backend.apply(WriteBatch([.deleteUser(alice), .put(empty, Array("x".utf8))]))
        )
        XCTAssertEqual(try backend.records(), before)
    }
}
