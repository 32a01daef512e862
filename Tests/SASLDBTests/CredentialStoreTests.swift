import XCTest

@testable import SASLDB

final class CredentialStoreTests: XCTestCase {
    private let alice = UserID(authid: Array("alice".utf8), realm: Array("Example.COM".utf8))

    private func store(
        _ policy: SecretPolicy = .cyrusDefault,
        backend: MemoryBackend = MemoryBackend()
    )
        -> CredentialStore
    {
        CredentialStore(backend: backend, policy: policy)
    }

    func testSetPasswordWritesCyrusKeyAndPlaintextValue() throws {
        let backend = MemoryBackend()
        try store(backend: backend).setPassword(Array("secret".utf8), for: alice)
        let records = try backend.records()
        XCTAssertEqual(records.count, 1)
        XCTAssertEqual(
            records[0].key.bytes,
            Array("alice\u{0}Example.COM\u{0}userPassword".utf8)
        )
        XCTAssertEqual(records[0].value, Array("secret".utf8))
    }

    func testNoPlaintextPolicyRemovesOldPlaintextAndWritesEveryVerifier() throws {
        let backend = MemoryBackend()
        try store(backend: backend).setPassword(Array("old".utf8), for: alice)
        try store(.noPlaintext, backend: backend).setPassword(Array("secret".utf8), for: alice)
        let properties = try backend.records().map { Property(bytes: $0.key.property) }
        XCTAssertEqual(Set(properties), [.cramMD5, .digestMD5, .authPassword])
        let secrets = try store(backend: backend).secrets(of: alice)
        XCTAssertNil(secrets.plaintext)
        XCTAssertEqual(secrets.cramMD5?.bytes, CRAMMD5State(password: Array("secret".utf8)).bytes)
        XCTAssertEqual(secrets.scram?.hash, .sha256)
        XCTAssertEqual(secrets.scram?.iterations, 4096)
        XCTAssertTrue(try store(backend: backend).verify(password: Array("secret".utf8), for: alice))
        XCTAssertFalse(try store(backend: backend).verify(password: Array("old".utf8), for: alice))
    }

    func testChangingBackToPlaintextRemovesStaleVerifiers() throws {
        let backend = MemoryBackend()
        try store(.noPlaintext, backend: backend).setPassword(Array("first".utf8), for: alice)
        try store(backend: backend).setPassword(Array("second".utf8), for: alice)
        XCTAssertEqual(try backend.records().map { Property(bytes: $0.key.property) }, [.userPassword])
    }

    func testPlaintextTakesPriorityOverVerifiersAsInCyrus() throws {
        let cram = CRAMMD5State(password: Array("pwB".utf8)).bytes
        let backend = MemoryBackend(records: [
            Record(key: RecordKey(user: alice, property: .userPassword), value: Array("pwA".utf8)),
            Record(key: RecordKey(user: alice, property: .cramMD5), value: cram),
        ])
        XCTAssertTrue(try store(backend: backend).verify(password: Array("pwA".utf8), for: alice))
        XCTAssertFalse(try store(backend: backend).verify(password: Array("pwB".utf8), for: alice))
    }

    func testEachVerifierAloneChecksThePassword() throws {
        let password = Array("pässwörd".utf8)
        let values: [(Property, [UInt8])] = [
            (.cramMD5, CRAMMD5State(password: password).bytes),
            (.digestMD5, DigestMD5Secret.hash(authid: alice.authid, realm: alice.realm, password: password)),
            (.authPassword, try SCRAMVerifier(hash: .sha1, password: password, iterations: 64).bytes),
        ]
        for (property, value) in values {
            let backend = MemoryBackend(records: [Record(key: RecordKey(user: alice, property: property), value: value)]
            )
            XCTAssertTrue(try store(backend: backend).verify(password: password, for: alice), "\(property)")
            XCTAssertFalse(try store(backend: backend).verify(password: Array("wrong".utf8), for: alice), "\(property)")
        }
    }

    func testUnknownUserDoesNotVerify() throws {
        XCTAssertFalse(try store().verify(password: Array("x".utf8), for: alice))
    }

    func testDeleteRemovesEveryPropertyOfThatUserOnly() throws {
        let bob = UserID(authid: Array("bob".utf8), realm: alice.realm)
        let backend = MemoryBackend(records: [
            Record(key: RecordKey(user: alice, property: .userPassword), value: [1]),
            Record(key: RecordKey(user: alice, property: Property("someOtherProp")), value: [2]),
            Record(key: RecordKey(user: bob, property: .userPassword), value: [3]),
        ])
        XCTAssertTrue(try store(backend: backend).deleteUser(alice))
        XCTAssertEqual(try backend.records().map(\.key.user), [bob])
        XCTAssertFalse(try store(backend: backend).deleteUser(alice))
    }

    func testDisableKeepsSecretsAsideAndEnableRestoresThem() throws {
        let backend = MemoryBackend()
        let credentials = store(backend: backend)
        try credentials.setPassword(Array("secret".utf8), for: alice)
        try credentials.disable(alice)
        XCTAssertFalse(try credentials.verify(password: Array("secret".utf8), for: alice))
        XCTAssertTrue(try credentials.users()[0].isDisabled)
        try credentials.enable(alice)
        XCTAssertTrue(try credentials.verify(password: Array("secret".utf8), for: alice))
    }

    func testRemoveSecretsKeepsOtherPropertiesLikeCyrusDashD() throws {
        let backend = MemoryBackend(records: [
            Record(key: RecordKey(user: alice, property: .userPassword), value: [1]),
            Record(key: RecordKey(user: alice, property: .otp), value: [2]),
            Record(key: RecordKey(user: alice, property: .authPassword), value: [3]),
        ])
        try store(backend: backend).removeSecrets(of: alice)
        XCTAssertEqual(try backend.records().map { Property(bytes: $0.key.property) }, [.otp])
    }

    func testInvalidPasswordsAreRefusedAndChangeNothing() throws {
        let backend = MemoryBackend()
        let credentials = store(backend: backend)
        for bad in [[], Array("a\u{0}b".utf8), [UInt8](repeating: 0x41, count: 2049)] {
            XCTAssertThrowsError(try credentials.setPassword(bad, for: alice)) { error in
                guard case SASLDBError.invalidPassword = error else { return XCTFail("\(error)") }
            }
        }
        XCTAssertEqual(try backend.records(), [])
        XCTAssertNoThrow(try credentials.setPassword([UInt8](repeating: 0x41, count: 2048), for: alice))
    }

    func testImportIsAllOrNothing() throws {
        let backend = MemoryBackend()
        let policy = SecretPolicy(plaintext: true, cramMD5: true, digestMD5: true)
        let entries = (0..<1500).map {
            (user: UserID(authid: Array("u\($0)".utf8), realm: [0x72]), password: Array("p\($0)".utf8))
        }
        try store(policy, backend: backend).importPasswords(entries)
        XCTAssertEqual(try backend.records().count, 4500)
        let bad = entries + [(user: alice, password: [])]
        XCTAssertThrowsError(try store(policy, backend: MemoryBackend()).importPasswords(bad))
        XCTAssertTrue(try store(backend: backend).verify(password: Array("p1499".utf8), for: entries[1499].user))
    }

    func testPolicyWithoutAnySecretIsRefused() {
        XCTAssertThrowsError(try store(SecretPolicy(plaintext: false)).setPassword([1], for: alice))
    }

    func testDeleteRemovesAUserWhoHasOnlyOtherProperties() throws {
        let backend = MemoryBackend(records: [
            Record(key: RecordKey(user: alice, property: Property("someOtherProp")), value: [1])
        ])
        XCTAssertTrue(try store(backend: backend).deleteUser(alice))
        XCTAssertEqual(try backend.records(), [])
        XCTAssertFalse(try store(backend: backend).deleteUser(alice))
    }
}
