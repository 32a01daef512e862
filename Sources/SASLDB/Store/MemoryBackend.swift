import Synchronization

/// A backend that keeps records in memory, for tests and for embedding without a file.
public final class MemoryBackend: CredentialBackend {
    private let table: Mutex<[[UInt8]: [UInt8]]>

    /// Creates an empty store, or one holding `records`.
    public init(records: [Record] = []) {
        var initial: [[UInt8]: [UInt8]] = [:]
        for record in records { initial[record.key.bytes] = record.value }
        table = Mutex(initial)
    }

    public func fetch(_ user: UserID, properties: [Property]) throws -> [Property: [UInt8]] {
        try table.withLock { try MemoryDatabaseFile(table: $0).fetch(user, properties: properties) }
    }

    public func records() throws -> [Record] {
        try table.withLock { try MemoryDatabaseFile(table: $0).allRecords() }
    }

    public func recordKeys() throws -> RecordKeyList {
        try table.withLock { table in
            var keys = RecordKeyList()
            try MemoryDatabaseFile(table: table).forEachKey { keys.append($0) }
            return keys
        }
    }

    /// Applies the batch to a copy and swaps it in, so a failing operation changes nothing.
    public func apply(_ batch: WriteBatch) throws {
        try table.withLock { current in
            let working = MemoryDatabaseFile(table: current)
            try working.apply(batch)
            current = working.table
        }
    }
}
