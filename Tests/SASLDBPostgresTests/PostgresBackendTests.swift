import Foundation
import SASLDB
import SASLDBPostgres
import XCTest

/// The backend against a real server: tables, round trips of every store operation, and each bad input's own error.
final class PostgresBackendTests: XCTestCase {
    private var database: PostgresTestDatabase!
    private let alice = UserID(authid: Array("alice".utf8), realm: Array("example.org".utf8))

    override func setUpWithError() throws {
        database = try PostgresTestDatabase("backend")
    }

    override func tearDown() {
        database?.drop()
    }

    private func backend(_ mode: PostgresBackendProvider.Mode = .pooled) throws -> any CredentialBackend {
        PostgresBackendProvider(mode: mode).makeBackend(try database.location)
    }

    private func initialized(_ mode: PostgresBackendProvider.Mode = .pooled) throws -> any ServerBackend {
        let made = try XCTUnwrap(try backend(mode) as? any ServerBackend)
        XCTAssertEqual(try made.initializeSchema(), .created(version: 1))
        return made
    }

    func testInitCreatesTheTablesOnceAndThenReportsThemCurrent() throws {
        let made = try initialized()
        XCTAssertEqual(try made.initializeSchema(), .current(version: 1))
        XCTAssertEqual(try database.psql("SELECT version FROM sasldb_version"), "1")
        XCTAssertEqual(
            try database.psql(
                "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns "
                    + "WHERE table_name = 'sasldb'"
            ),
            "username,realm,property,value"
        )
    }

    func testPasswordsWrittenByTheStoreVerifyAndListInOneTransaction() throws {
        var policy = SecretPolicy.cyrusDefault
        policy.scram = .sha256
        policy.cramMD5 = true
        policy.digestMD5 = true
        let store = CredentialStore(backend: try initialized(), policy: policy)
        try store.setPassword(Array("s3cret".utf8), for: alice)
        XCTAssertTrue(try store.verify(password: Array("s3cret".utf8), for: alice))
        XCTAssertFalse(try store.verify(password: Array("wrong".utf8), for: alice))
        let secrets = try store.secrets(of: alice)
        XCTAssertNotNil(secrets.scram)
        XCTAssertNotNil(secrets.cramMD5)
        XCTAssertEqual(secrets.digestMD5?.count, 16)
        XCTAssertEqual(try store.users().map(\.user), [alice])
        XCTAssertEqual(
            try database.psql("SELECT count(*) FROM sasldb WHERE username = 'alice' AND realm = 'example.org'"),
            "4"
        )
        // A second password replaces every secret of the first.
        try store.setPassword(Array("other".utf8), for: alice)
        XCTAssertFalse(try store.verify(password: Array("s3cret".utf8), for: alice))
        XCTAssertTrue(try store.verify(password: Array("other".utf8), for: alice))
    }

    func testAnImportReplacesTheSecretsOfStoredUsersAndCreatesTheOthers() throws {
        var scram = SecretPolicy.cyrusDefault
        scram.scram = .sha256
        let backend = try initialized()
        try CredentialStore(backend: backend, policy: scram).setPassword(Array("old".utf8), for: alice)
        let others = try (0..<2500).map { try UserID(parsing: "user\($0)@example.org", defaultRealm: "") }
        let store = CredentialStore(backend: backend)
        let entries = others.enumerated().map { ($0.element, Array("pw-\($0.offset)".utf8)) }
        try store.importPasswords([(alice, Array("new".utf8))] + entries)
        XCTAssertEqual(
            try backend.fetch(alice, properties: [.authPassword, .userPassword]),
            [.userPassword: Array("new".utf8)]
        )
        XCTAssertEqual(try store.users().count, 2501)
        XCTAssertTrue(try store.verify(password: Array("pw-1000".utf8), for: others[1000]))
    }

    func testABatchKeepsTheLastChangeOfEachKeyWhateverTheOrderOfItsUsers() throws {
        let backend = try initialized()
        let bob = UserID(authid: Array("bob".utf8), realm: Array("example.org".utf8))
        func key(_ user: UserID, _ property: Property) -> RecordKey { RecordKey(user: user, property: property) }
        try backend.apply(
            WriteBatch([.put(key(alice, .authPassword), [1]), .put(key(bob, .authPassword), [2])])
        )
        try backend.apply(
            WriteBatch([
                .put(key(alice, .userPassword), [3]),
                .put(key(bob, .userPassword), [4]),
                // Alice again after Bob: her put undone, a stored row of hers deleted, a new one written.
                .delete(key(alice, .userPassword)),
                .delete(key(alice, .authPassword)),
                .put(key(alice, .cramMD5), [5]),
                // Bob again: the last value wins; deleting what he never had is nothing.
                .put(key(bob, .userPassword), [6]),
                .delete(key(bob, .cramMD5)),
                .delete(key(bob, .digestMD5)),
            ])
        )
        XCTAssertEqual(
            try backend.records(),
            [
                Record(key: key(alice, .cramMD5), value: [5]),
                Record(key: key(bob, .authPassword), value: [2]),
                Record(key: key(bob, .userPassword), value: [6]),
            ]
        )
    }

    func testDisableEnableAndDeleteKeepTheirMeaning() throws {
        let store = CredentialStore(backend: try initialized())
        try store.setPassword(Array("pw".utf8), for: alice)
        try store.disable(alice)
        XCTAssertFalse(try store.verify(password: Array("pw".utf8), for: alice))
        XCTAssertEqual(try store.users().first?.isDisabled, true)
        try store.enable(alice)
        XCTAssertTrue(try store.verify(password: Array("pw".utf8), for: alice))
        XCTAssertTrue(try store.deleteUser(alice))
        XCTAssertEqual(try store.users(), [])
    }

    func testRecordsRoundTripBinaryValuesExactly() throws {
        let backend = try initialized()
        let binary: [UInt8] = [0, 1, 2, 0xff, 0x80, 0]
        let key = RecordKey(user: alice, property: .digestMD5)
        try backend.apply(WriteBatch([.put(key, binary)]))
        XCTAssertEqual(try backend.records(), [Record(key: key, value: binary)])
        XCTAssertEqual(try backend.fetch(alice, properties: [.digestMD5, .userPassword]), [.digestMD5: binary])
        XCTAssertEqual(try database.psql("SELECT sasldb_text(value) IS NULL FROM sasldb"), "t")
    }

    func testTablesOfANewerVersionAreASpecificError() throws {
        _ = try initialized()
        try database.psql("UPDATE sasldb_version SET version = 99")
        let fresh = try XCTUnwrap(try backend() as? any ServerBackend)
        let store = try database.location.displayName
        XCTAssertThrowsError(try fresh.fetch(alice, properties: [.userPassword])) { error in
            XCTAssertEqual(error as? SASLDBError, .schemaVersion(store: store, found: 99, supported: 1))
        }
        XCTAssertThrowsError(try fresh.initializeSchema()) { error in
            guard case .schemaVersion(_, 99?, 1) = error as? SASLDBError else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("newer than this program's 1; upgrade sasldb"), "\(error)")
        }
    }

    func testMissingTablesSayToRunDbInit() throws {
        XCTAssertThrowsError(try backend().fetch(alice, properties: [.userPassword])) { error in
            guard case .schemaVersion(_, nil, 1) = error as? SASLDBError else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("sasldb db init"), "\(error)")
        }
    }

    func testAValueTooLongIsRefusedBeforeAnythingIsWritten() throws {
        let backend = try initialized()
        let long = [UInt8](repeating: 0x41, count: 65_537)
        XCTAssertThrowsError(
            try backend.apply(
                WriteBatch([
                    .put(RecordKey(user: alice, property: .userPassword), Array("pw".utf8)),
                    .put(RecordKey(user: alice, property: Property(bytes: Array("note".utf8))), long),
                ])
            )
        ) { error in
            guard case .invalidValue(let reason) = error as? SASLDBError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("65537 bytes"), reason)
        }
        XCTAssertEqual(try backend.records(), [])
        // The table refuses it too, for writers other than ours.
        XCTAssertThrowsError(
            try database.psql("INSERT INTO sasldb VALUES ('a', 'b', 'c', decode(repeat('41', 65537), 'hex'))")
        )
    }

    func testAWrongPasswordIsALoginRefusal() throws {
        let port = try XCTUnwrap(ProcessInfo.processInfo.environment["SASLDB_TEST_POSTGRES_PORT"])
        try database.psql("CREATE ROLE \(database.name)_user LOGIN PASSWORD 'right'")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pgpw-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("password")
        try "wrong\n".write(to: file, atomically: true, encoding: .utf8)
        let location = try PostgresLocation(
            url: "postgresql://\(database.name)_user@127.0.0.1:\(port)/\(database.name)?sslmode=require"
                + "&password_file=\(file.path)"
        )
        let backend = PostgresBackendProvider(mode: .single).makeBackend(location)
        XCTAssertThrowsError(try backend.fetch(alice, properties: [.userPassword])) { error in
            guard case .loginRefused(_, let user, _) = error as? SASLDBError else { return XCTFail("\(error)") }
            XCTAssertEqual(user, "\(database.name)_user")
        }
        try "right\n".write(to: file, atomically: true, encoding: .utf8)
        let right = PostgresBackendProvider(mode: .single).makeBackend(location)
        XCTAssertThrowsError(try right.fetch(alice, properties: [.userPassword])) { error in
            // Logged in: now the missing tables speak.
            guard case .schemaVersion = error as? SASLDBError else { return XCTFail("\(error)") }
        }
        try database.psql("DROP ROLE \(database.name)_user")
    }

    func testTLSIsVerifiedAgainstTheNamedAuthority() throws {
        let environment = ProcessInfo.processInfo.environment
        let port = try XCTUnwrap(environment["SASLDB_TEST_POSTGRES_PORT"])
        let ca = try XCTUnwrap(environment["SASLDB_TEST_POSTGRES_CA"])
        // The administrator may log in over TCP without a password (pg_hba), so only TLS is at stake.
        let base = "postgresql://postgres@localhost:\(port)/\(database.name)?sslmode=verify-full"
        let verified = PostgresBackendProvider(mode: .single).makeBackend(
            try PostgresLocation(url: base + "&sslrootcert=\(ca)")
        )
        XCTAssertThrowsError(try verified.fetch(alice, properties: [.userPassword])) { error in
            guard case .schemaVersion = error as? SASLDBError else { return XCTFail("\(error)") }
        }
        let unknownAuthority = PostgresBackendProvider(mode: .single).makeBackend(try PostgresLocation(url: base))
        XCTAssertThrowsError(try unknownAuthority.fetch(alice, properties: [.userPassword])) { error in
            guard case .backend(_, let detail) = error as? SASLDBError else { return XCTFail("\(error)") }
            XCTAssertTrue(detail.contains("TLS"), detail)
        }
    }

    func testTheFactoryMakesAPostgreSQLStoreOnceAProviderIsInstalled() throws {
        var configuration = StoreConfiguration()
        configuration.location = .postgres(try database.location)
        StoreFactory.install(PostgresBackendProvider(mode: .pooled))
        defer { StoreFactory.install(nil) }
        let store = StoreFactory.makeStore(configuration)
        XCTAssertTrue(store.backend is PostgresBackend)
    }
}
