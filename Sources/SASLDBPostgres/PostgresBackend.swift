import Logging
import NIOCore
import PostgresNIO
import SASLDB
import Synchronization

/// A credential store in a PostgreSQL table, `(username, realm, property, value)`, one row per sasldb record.
///
/// Every call is one bounded round of queries: an AUTH reads its secrets with one `SELECT`; a write of a batch is one
/// transaction. A call may take the query timeout once per statement it runs (a batch of 100,000 users runs about a
/// hundred), and a read of every record ``scanStatements`` times it. Nothing is cached, so a change made through any program is seen by every other at its next lookup.
/// The schema version is checked once per backend, on its first call.
public final class PostgresBackend: ServerBackend {
    /// The location, for messages and the timeout.
    public let location: PostgresLocation
    private let source: any PostgresConnectionSource
    private let schemaChecked = Atomic<Bool>(false)

    /// How many query timeouts a read of every record may take: a scan of a large table is many queries' worth.
    public static let scanStatements = 12

    /// A logger for the client that says nothing: the backend reports through the errors it throws.
    static let silent = Logger(label: "sasldb.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    /// A backend over `source`.
    init(location: PostgresLocation, source: any PostgresConnectionSource) {
        self.location = location
        self.source = source
    }

    public func fetch(_ user: UserID, properties: [Property]) throws -> [Property: [UInt8]] {
        guard let name = PostgresRowKey(user: user) else { return [:] }
        let wanted = properties.compactMap { String(validating: $0.bytes, as: UTF8.self) }
        return try run { connection in
            let rows = try await connection.query(
                """
                SELECT property, value FROM sasldb
                WHERE username = \(name.username) AND realm = \(name.realm) AND property = ANY(\(wanted))
                """,
                logger: Self.silent
            )
            var found: [Property: [UInt8]] = [:]
            for try await (property, value) in rows.decode((String, ByteBuffer).self) {
                found[Property(bytes: Array(property.utf8))] = Array(buffer: value)
            }
            return found
        }
    }

    public func records() throws -> [Record] {
        try run(statements: Self.scanStatements) { connection in
            let rows = try await connection.query(
                "SELECT username, realm, property, value FROM sasldb ORDER BY realm, username, property",
                logger: Self.silent
            )
            var records: [Record] = []
            for try await (username, realm, property, value) in rows.decode((String, String, String, ByteBuffer).self) {
                let key = RecordKey(
                    authid: Array(username.utf8),
                    realm: Array(realm.utf8),
                    property: Array(property.utf8)
                )
                records.append(Record(key: key, value: Array(buffer: value)))
            }
            return records
        }
    }

    public func recordKeys() throws -> RecordKeyList {
        try run(statements: Self.scanStatements) { connection in
            let rows = try await connection.query(
                "SELECT username, realm, property FROM sasldb ORDER BY realm, username, property",
                logger: Self.silent
            )
            var keys = RecordKeyList()
            for try await (username, realm, property) in rows.decode((String, String, String).self) {
                keys.append(
                    RecordKey(authid: Array(username.utf8), realm: Array(realm.utf8), property: Array(property.utf8))
                        .bytes
                )
            }
            return keys
        }
    }

    public func apply(_ batch: WriteBatch) throws {
        let plan = try PostgresWritePlan(batch)
        guard !plan.steps.isEmpty else { return }
        // BEGIN and COMMIT besides the plan's own statements.
        try run(statements: plan.steps.count + 2) { connection in
            try await connection.withTransaction(logger: Self.silent) { transaction in
                for step in plan.steps { try await step.execute(on: transaction) }
            }
        }
    }

    public func initializeSchema() throws -> SchemaInitialization {
        let result = try run(checkingSchema: false, statements: PostgresSchema.version1.count + 4) { connection in
            try await connection.withTransaction(logger: Self.silent) { transaction in
                try await PostgresSchemaMigrator.migrate(transaction, store: self.location.displayName)
            }
        }
        schemaChecked.store(true, ordering: .relaxed)
        return result
    }

    /// Connects (once) and checks that the tables are at this program's version, within two query timeouts (the
    /// connection, the check).
    ///
    /// - Throws: ``SASLDBError``, as any call would.
    func checkSchema() throws {
        try run(checkingSchema: false, statements: 2) { connection in
            try await PostgresSchemaMigrator.check(connection, store: self.location.displayName)
        }
        schemaChecked.store(true, ordering: .relaxed)
    }

    /// Runs `body`, which runs `statements` statements, on a connection within as many query timeouts (one more for
    /// the schema check made on this backend's first call).
    private func run<Value: Sendable>(
        checkingSchema: Bool = true,
        statements: Int = 1,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Value
    ) throws -> Value {
        let store = location.displayName
        let check = checkingSchema && !schemaChecked.load(ordering: .relaxed)
        let bound = location.queryTimeoutMilliseconds * (statements + (check ? 1 : 0))
        if let reason = source.unreachable { throw SASLDBError.unavailable(store: store, detail: reason) }
        let value = try BlockingBridge.run(store: store, timeoutMilliseconds: bound, stall: source.stall) {
            [source] in
            do {
                return try await source.withConnection { connection in
                    if check { try await PostgresSchemaMigrator.check(connection, store: store) }
                    return try await body(connection)
                }
            } catch {
                throw SASLDBError(postgres: error, store: store, user: self.location.user)
            }
        }
        if check { schemaChecked.store(true, ordering: .relaxed) }
        return value
    }
}
