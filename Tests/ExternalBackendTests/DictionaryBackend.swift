import SASLDB
import Synchronization

/// A backend written outside `SASLDB` with its public API alone: records in a dictionary, a batch applied to a copy
/// and swapped in, so a failing batch changes nothing. What the PostgreSQL backend to come must provide, in miniature.
final class DictionaryBackend: CredentialBackend {
    private let table = Mutex<[RecordKey: [UInt8]]>([:])

    func fetch(_ user: UserID, properties: [Property]) throws -> [Property: [UInt8]] {
        table.withLock { table in
            var found: [Property: [UInt8]] = [:]
            for property in properties {
                if let value = table[RecordKey(user: user, property: property)] { found[property] = value }
            }
            return found
        }
    }

    func records() throws -> [Record] {
        table.withLock { table in
            table.map { Record(key: $0.key, value: $0.value) }.sorted {
                $0.key.bytes.lexicographicallyPrecedes($1.key.bytes)
            }
        }
    }

    func recordKeys() throws -> RecordKeyList {
        var keys = RecordKeyList()
        for record in try records() { keys.append(record.key.bytes) }
        return keys
    }

    func apply(_ batch: WriteBatch) throws {
        try table.withLock { current in
            var working = current
            for operation in batch.operations {
                switch operation {
                case .put(let key, let value):
                    guard !key.authid.isEmpty else { throw SASLDBError.invalidName("empty user name") }
                    working[key] = value
                case .delete(let key):
                    working[key] = nil
                case .deleteUser(let user):
                    working = working.filter { $0.key.user != user }
                case .moveProperty(let user, let from, let to):
                    if let value = working.removeValue(forKey: RecordKey(user: user, property: from)) {
                        working[RecordKey(user: user, property: to)] = value
                    }
                }
            }
            current = working
        }
    }
}
