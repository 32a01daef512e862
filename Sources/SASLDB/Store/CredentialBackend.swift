/// One stored record: its key and its raw value.
public struct Record: Hashable, Sendable {
    /// The record's key.
    public var key: RecordKey
    /// The raw value bytes.
    public var value: [UInt8]

    /// Creates a record.
    public init(key: RecordKey, value: [UInt8]) {
        self.key = key
        self.value = value
    }
}

/// A set of changes that a backend applies all together or not at all.
public struct WriteBatch: Sendable {
    /// One change.
    public enum Operation: Sendable, Equatable {
        /// Store `value` under the key, replacing what was there.
        case put(RecordKey, [UInt8])
        /// Remove the key if present.
        case delete(RecordKey)
        /// Remove every property of the user.
        case deleteUser(UserID)
        /// Move the user's value from one property to another (replacing it); nothing when the source is absent.
        case moveProperty(UserID, from: Property, to: Property)
    }

    /// The changes, applied in order.
    public var operations: [Operation]

    /// Creates a batch.
    public init(_ operations: [Operation] = []) { self.operations = operations }

    /// Whether the batch holds no change.
    public var isEmpty: Bool { operations.isEmpty }

    /// The batch applied to a new, empty file: a delete or move that no earlier put of the batch could have fed
    /// finds nothing, so it is dropped (an import of 100,000 users would otherwise do 500,000 lookups for nothing).
    var creatingFile: WriteBatch {
        var written = Set<RecordKey>()
        var writtenUsers = Set<UserID>()
        var kept: [Operation] = []
        kept.reserveCapacity(operations.count)
        for operation in operations {
            switch operation {
            case .put(let key, _):
                written.insert(key)
                writtenUsers.insert(key.user)
                kept.append(operation)
            case .delete(let key):
                if written.contains(key) { kept.append(operation) }
            case .deleteUser(let user):
                if writtenUsers.contains(user) { kept.append(operation) }
            case .moveProperty(let user, let from, _):
                if written.contains(RecordKey(user: user, property: from)) { kept.append(operation) }
            }
        }
        return WriteBatch(kept)
    }
}

/// Where the store keeps its records.
///
/// Every call opens what it needs and closes it again, so a reader holds nothing between lookups. `apply(_:)` is atomic:
/// a reader, and a crash at any instant, sees the records as before the batch or as after it, never a mix.
public protocol CredentialBackend: Sendable {
    /// The values of `properties` for `user` that exist, read in one open.
    func fetch(_ user: UserID, properties: [Property]) throws -> [Property: [UInt8]]

    /// Every record, in the backend's own iteration order (what sasldblistusers2 prints).
    func records() throws -> [Record]

    /// Every record key, without values, in the backend's order.
    func recordKeys() throws -> RecordKeyList

    /// Applies every operation of `batch` atomically, in order.
    func apply(_ batch: WriteBatch) throws

    /// What ``fetch(_:properties:)`` would return, when the backend has it in memory and can prove it current without
    /// reading its store (at most an `lstat`); `nil` otherwise. A caller where blocking is not allowed (an event loop)
    /// uses it to decide whether a lookup may run there.
    func fetchFromMemory(_ user: UserID, properties: [Property]) -> [Property: [UInt8]]?
}

extension CredentialBackend {
    /// `nil`: every lookup reads the store.
    public func fetchFromMemory(_ user: UserID, properties: [Property]) -> [Property: [UInt8]]? { nil }
}
