import NIOCore
import PostgresNIO
import SASLDB

/// A ``WriteBatch`` as few statements as keep its meaning, run in one transaction: the puts and deletes between two
/// whole-user operations collapse to the last change of each key and go as one `unnest` statement per kind and chunk,
/// so an import of 100,000 users is a few hundred statements, not 800,000.
struct PostgresWritePlan: Sendable {
    /// One statement's worth of work.
    enum Step: Sendable {
        case upsert([PostgresRowKey], [ByteBuffer])
        /// The keys, and their users without repeats (for the check which users have rows).
        case delete([RecordKey], users: [PostgresRowKey])
        case deleteUser(PostgresRowKey)
        case move(PostgresRowKey, from: String, to: String)
    }

    /// Rows per statement: big enough to amortize the round trip, small enough for the server's parameter memory.
    static let chunk = 10_000

    /// The statements, in order.
    private(set) var steps: [Step] = []

    /// Plans `batch`.
    ///
    /// - Throws: ``SASLDBError/invalidValue(_:)`` for a value over ``PostgresSchema/maximumValueLength`` bytes or a
    ///   name that is not UTF-8.
    init(_ batch: WriteBatch) throws {
        // Keyed by the raw key: hashing bytes is far cheaper than hashing three Strings, and an import makes 900,000.
        var pending: [RecordKey: [UInt8]?] = [:]
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
                _ = try PostgresRowKey(key)
                pending[key] = .some(value)
            case .delete(let key):
                pending[key] = .some(nil)
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

    private mutating func flush(_ pending: inout [RecordKey: [UInt8]?]) throws {
        // A key that is not UTF-8 has no row: its delete is nothing (its put was refused when planned).
        let deletes = pending.compactMap { $0.value == nil ? $0.key : nil }
        let puts = pending.compactMap { key, value in value.map { (key, $0) } }
        for start in stride(from: 0, to: deletes.count, by: Self.chunk) {
            let slice = deletes[start..<min(deletes.count, start + Self.chunk)]
            var seen = Set<UserID>()
            let users = slice.compactMap { seen.insert($0.user).inserted ? PostgresRowKey(user: $0.user) : nil }
            steps.append(.delete(Array(slice), users: users))
        }
        for start in stride(from: 0, to: puts.count, by: Self.chunk) {
            let slice = puts[start..<min(puts.count, start + Self.chunk)]
            steps.append(.upsert(try slice.map { try PostgresRowKey($0.0) }, slice.map { ByteBuffer(bytes: $0.1) }))
        }
        pending.removeAll(keepingCapacity: true)
    }
}

extension PostgresWritePlan.Step {
    /// Runs the statement on `connection`, inside the batch's transaction.
    func execute(on connection: PostgresConnection) async throws {
        let logger = PostgresBackend.silent
        switch self {
        case .upsert(let keys, let values):
            try await connection.query(
                """
                INSERT INTO sasldb (username, realm, property, value)
                SELECT * FROM unnest(\(keys.map(\.username))::text[], \(keys.map(\.realm))::text[],
                    \(keys.map(\.property))::text[], \(values)::bytea[])
                ON CONFLICT (username, realm, property) DO UPDATE SET value = EXCLUDED.value
                """,
                logger: logger
            )
        case .delete(let all, let users):
            // Most deletes of a batch clear secrets a user never had (an import writes nine changes per user, eight
            // of them deletes): only the keys of users that have rows are sent.
            let keys = try await Self.keysOfStoredUsers(all, users: users, on: connection)
            guard !keys.isEmpty else { return }
            try await connection.query(
                """
                DELETE FROM sasldb AS s
                USING unnest(\(keys.map(\.username))::text[], \(keys.map(\.realm))::text[],
                    \(keys.map(\.property))::text[]) AS d(username, realm, property)
                WHERE s.username = d.username AND s.realm = d.realm AND s.property = d.property
                """,
                logger: logger
            )
        case .deleteUser(let user):
            try await connection.query(
                "DELETE FROM sasldb WHERE username = \(user.username) AND realm = \(user.realm)",
                logger: logger
            )
        case .move(let user, let from, let to):
            try await connection.query(
                """
                WITH moved AS (
                    DELETE FROM sasldb
                    WHERE username = \(user.username) AND realm = \(user.realm) AND property = \(from)
                    RETURNING username, realm, value)
                INSERT INTO sasldb (username, realm, property, value)
                SELECT username, realm, \(to), value FROM moved
                ON CONFLICT (username, realm, property) DO UPDATE SET value = EXCLUDED.value
                """,
                logger: logger
            )
        }
    }

    /// The keys among `keys` whose user (one of `users`) has any row, as columns; a key that is not UTF-8 has none.
    private static func keysOfStoredUsers(
        _ keys: [RecordKey],
        users: [PostgresRowKey],
        on connection: PostgresConnection
    ) async throws -> [PostgresRowKey] {
        let rows = try await connection.query(
            """
            SELECT DISTINCT s.username, s.realm FROM sasldb AS s
            JOIN unnest(\(users.map(\.username))::text[], \(users.map(\.realm))::text[]) AS d(username, realm)
                ON s.username = d.username AND s.realm = d.realm
            """,
            logger: PostgresBackend.silent
        )
        var stored = Set<UserID>()
        for try await (username, realm) in rows.decode((String, String).self) {
            stored.insert(UserID(authid: Array(username.utf8), realm: Array(realm.utf8)))
        }
        guard !stored.isEmpty else { return [] }
        return keys.compactMap { stored.contains($0.user) ? try? PostgresRowKey($0) : nil }
    }
}
