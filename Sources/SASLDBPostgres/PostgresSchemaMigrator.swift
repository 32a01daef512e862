import PostgresNIO
import SASLDB

/// Reads the schema version and creates or migrates the tables (`sasldb db init`).
enum PostgresSchemaMigrator {
    /// An arbitrary constant key: two `db init` runs at once take turns instead of both creating the tables.
    private static let lockKey = 0x5341_534c_4442

    /// The version in the version table, `nil` when the table does not exist.
    static func version(_ connection: PostgresConnection) async throws -> Int? {
        let exists = try await connection.query(
            "SELECT to_regclass('sasldb_version') IS NOT NULL",
            logger: PostgresBackend.silent
        )
        for try await present in exists.decode(Bool.self) where !present { return nil }
        let rows = try await connection.query("SELECT max(version) FROM sasldb_version", logger: PostgresBackend.silent)
        for try await version in rows.decode(Int?.self) { return version ?? 0 }
        return 0
    }

    /// Throws unless the tables are at this program's version.
    ///
    /// - Throws: ``SASLDBError/schemaVersion(store:found:supported:)``.
    static func check(_ connection: PostgresConnection, store: String) async throws {
        let found = try await version(connection)
        guard found == PostgresSchema.currentVersion else {
            throw SASLDBError.schemaVersion(store: store, found: found, supported: PostgresSchema.currentVersion)
        }
    }

    /// Creates or migrates the tables on `connection`, which is inside a transaction.
    static func migrate(_ connection: PostgresConnection, store: String) async throws -> SchemaInitialization {
        try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: PostgresBackend.silent)
        let found = try await version(connection) ?? 0
        let current = PostgresSchema.currentVersion
        guard found <= current else {
            throw SASLDBError.schemaVersion(store: store, found: found, supported: current)
        }
        guard found < current else { return .current(version: current) }
        for statement in PostgresSchema.migrations(from: found) {
            try await connection.query(statement, logger: PostgresBackend.silent)
        }
        return found == 0 ? .created(version: current) : .migrated(from: found, to: current)
    }
}
