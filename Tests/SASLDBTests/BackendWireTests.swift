import SASLDB
import XCTest

/// The messages between `sasldb` and its `sasldb-postgres` helper: every request and error comes back as it went.
final class BackendWireTests: XCTestCase {
    private let alice = UserID(authid: Array("alice".utf8), realm: Array("example.org".utf8))

    func testEveryRequestRoundTrips() throws {
        let batch = WriteBatch([
            .put(RecordKey(user: alice, property: .userPassword), [0, 1, 255]),
            .delete(RecordKey(user: alice, property: .cramMD5)),
            .deleteUser(alice),
            .moveProperty(alice, from: .userPassword, to: CredentialStore.disabledProperty(.userPassword)),
        ])
        guard case .apply(let decoded) = try BackendWire.decodeRequest(BackendWire.encode(.apply(batch))) else {
            return XCTFail("not an apply")
        }
        XCTAssertEqual(decoded.operations, batch.operations)
        guard
            case .fetch(let user, let properties) = try BackendWire.decodeRequest(
                BackendWire.encode(.fetch(alice, [.userPassword, .authPassword]))
            )
        else { return XCTFail("not a fetch") }
        XCTAssertEqual(user, alice)
        XCTAssertEqual(properties, [.userPassword, .authPassword])
        for request in [BackendWire.Request.records, .recordKeys, .initializeSchema] {
            XCTAssertEqual(
                "\(try BackendWire.decodeRequest(BackendWire.encode(request)))",
                "\(request)"
            )
        }
    }

    func testKeysThatRepeatPartsOfEarlierKeysComeBackExactly() throws {
        // Users interleaved and more property names than the reader keeps: each key must still be its own.
        let bob = UserID(authid: Array("bob".utf8), realm: Array("example.org".utf8))
        let empty = UserID(authid: [], realm: [])
        var operations: [WriteBatch.Operation] = []
        for index in 0..<40 {
            for user in [alice, bob, alice, empty] {
                let property = Property("p\(index % 20)-\(index)")
                operations.append(.put(RecordKey(user: user, property: property), [UInt8(index)]))
                operations.append(.delete(RecordKey(user: user, property: .userPassword)))
            }
        }
        let batch = WriteBatch(operations)
        guard case .apply(let decoded) = try BackendWire.decodeRequest(BackendWire.encode(.apply(batch))) else {
            return XCTFail("not an apply")
        }
        XCTAssertEqual(decoded.operations, batch.operations)
    }

    func testErrorsAndSchemaResultsComeBackAsThemselves() throws {
        let errors: [SASLDBError] = [
            .unavailable(store: "db@host:5432", detail: "connection refused"),
            .loginRefused(store: "db@host:5432", user: "mta", detail: "password authentication failed"),
            .schemaVersion(store: "db", found: nil, supported: 1),
            .schemaVersion(store: "db", found: 9, supported: 1),
            .invalidValue("too long"),
            .invalidName("not UTF-8"),
            .permissionDenied(path: "db", operation: "write sasldb as mta"),
            .backend(path: "db", detail: "TLS failed"),
        ]
        for error in errors {
            XCTAssertThrowsError(try BackendWire.payload(BackendWire.failure(error))) { thrown in
                XCTAssertEqual(thrown as? SASLDBError, error)
            }
        }
        for result in [SchemaInitialization.created(version: 1), .migrated(from: 1, to: 2), .current(version: 2)] {
            var reply = try BackendWire.payload(BackendWire.success { $0.schemaInitialization(result) })
            XCTAssertEqual(try reply.schemaInitialization(), result)
        }
    }

    func testATruncatedMessageIsRefused() {
        let whole = BackendWire.encode(.fetch(alice, [.userPassword]))
        for length in 0..<whole.count {
            XCTAssertThrowsError(try BackendWire.decodeRequest(Array(whole.prefix(length))), "\(length) bytes")
        }
    }
}
