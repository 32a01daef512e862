import NIOCore
import SASLDB

/// A ``WriteBatch`` as few statements as keep its meaning, run in one transaction: the puts and deletes between two
/// whole-user operations collapse to the last change of each key; the puts go as one `unnest` upsert per chunk of
/// rows, and the deletes as one statement per chunk of users that delete the same properties, so an import of
/// 100,000 users (one put and eight deletes each) is about twenty statements, not 900,000.
struct PostgresWritePlan: Sendable {
    /// One statement's worth of work.
    enum Step: Sendable {
        case upsert(PostgresUpsertRows)
        /// The users (their property column empty) and the properties each of them loses.
        case delete([PostgresRowKey], properties: [String])
        case deleteUser(PostgresRowKey)
        case move(PostgresRowKey, from: String, to: String)
    }

    /// Rows (or users) per statement: big enough to amortize the round trip, small enough for the server's parameter
    /// memory.
    static let chunk = 10_000

    /// The statements, in order.
    private(set) var steps: [Step] = []
    private var names = PropertyNames()

    /// Plans `batch`.
    ///
    /// - Throws: ``SASLDBError/invalidValue(_:)`` for a value over ``PostgresSchema/maximumValueLength`` bytes or a
    ///   property name that is not UTF-8, ``SASLDBError/invalidName(_:)`` for a user written who is not UTF-8.
    init(_ batch: WriteBatch) throws {
        var pending = PendingChanges()
        for operation in batch.operations {
            switch operation {
            case .put(let key, let value):
                guard value.count <= PostgresSchema.maximumValueLength else {
                    throw SASLDBError.invalidValue(
                        "the value of \(String(decoding: key.property, as: UTF8.self)) for \(key.user) is "
                            + "\(value.count) bytes; a PostgreSQL store holds at most "
                            + "\(PostgresSchema.maximumValueLength)"
                    )
                }
                pending.set(key, value)
            case .delete(let key):
                pending.set(key, nil)
            case .deleteUser(let user):
                guard let row = PostgresRowKey(user: user) else { continue }
                try flush(&pending)
                steps.append(.deleteUser(row))
            case .moveProperty(let user, let from, let to):
                guard let row = PostgresRowKey(user: user) else { continue }
                try flush(&pending)
                steps.append(
                    .move(row, from: try PostgresRowKey.text(from.bytes), to: try PostgresRowKey.text(to.bytes))
                )
            }
        }
        try flush(&pending)
    }

    private mutating func flush(_ pending: inout PendingChanges) throws {
        guard !pending.isEmpty else { return }
        var puts = PostgresUpsertRows()
        // Users who delete the same properties share statements; an import's users all delete the same ones.
        var deleteGroups: [[String]: [PostgresRowKey]] = [:]
        var groupOrder: [[String]] = []
        // The users of the last group met, added to it without hashing its names for each.
        var lastGroup: (properties: [String], users: [PostgresRowKey])?
        for entry in pending.users {
            guard let row = PostgresRowKey(user: entry.user) else {
                // A user who is not UTF-8 has no rows: deleting is nothing, writing is refused.
                guard entry.changes.allSatisfy({ $0.value == nil }) else {
                    throw SASLDBError.invalidName("\(entry.user) is not UTF-8 text, which a PostgreSQL store needs")
                }
                continue
            }
            var deleted: [String] = []
            for change in entry.changes {
                if let value = change.value {
                    puts.append(row, property: try names.text(change.property), value: value)
                } else if let property = try? names.text(change.property) {
                    deleted.append(property)
                }
            }
            guard !deleted.isEmpty else { continue }
            if lastGroup?.properties == deleted {
                lastGroup?.users.append(row)
                continue
            }
            if let last = lastGroup { Self.close(last, into: &deleteGroups, order: &groupOrder) }
            lastGroup = (deleted, [row])
        }
        if let last = lastGroup { Self.close(last, into: &deleteGroups, order: &groupOrder) }
        for properties in groupOrder {
            let users = deleteGroups[properties] ?? []
            for start in stride(from: 0, to: users.count, by: Self.chunk) {
                steps.append(
                    .delete(Array(users[start..<min(users.count, start + Self.chunk)]), properties: properties)
                )
            }
        }
        for rows in puts.chunks(of: Self.chunk) { steps.append(.upsert(rows)) }
        pending.removeAll()
    }
}

extension PostgresWritePlan {
    /// Adds the users of a run of one delete group to the group, noting groups in the order they first appear.
    fileprivate static func close(
        _ run: (properties: [String], users: [PostgresRowKey]),
        into groups: inout [[String]: [PostgresRowKey]],
        order: inout [[String]]
    ) {
        if groups[run.properties] == nil { order.append(run.properties) }
        groups[run.properties, default: []] += run.users
    }
}

/// Property names as text, converted once each: a batch names the same few properties for every user.
private struct PropertyNames: Sendable {
    private var known: [(bytes: [UInt8], text: String)] = []
    /// More names than a batch of the store's own writes uses; past it names are converted each time.
    private static let capacity = 32

    mutating func text(_ bytes: [UInt8]) throws -> String {
        if let found = known.first(where: { $0.bytes == bytes }) { return found.text }
        let text = try PostgresRowKey.text(bytes)
        if known.count < Self.capacity { known.append((bytes, text)) }
        return text
    }
}
