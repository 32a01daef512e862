import PostgresNIO

extension PostgresWritePlan.Step {
    /// Runs the statement on `connection`, inside the batch's transaction.
    func execute(on connection: PostgresConnection) async throws {
        let logger = PostgresBackend.silent
        switch self {
        case .upsert(let rows):
            try await connection.query(
                """
                INSERT INTO sasldb (username, realm, property, value)
                SELECT * FROM unnest(\(rows.usernames)::text[], \(rows.realms)::text[],
                    \(rows.properties)::text[], \(rows.values)::bytea[])
                ON CONFLICT (username, realm, property) DO UPDATE SET value = EXCLUDED.value
                """,
                logger: logger
            )
        case .delete(let users, let properties):
            // One row per user, not per key: a new user's deletes find nothing in one index probe.
            try await connection.query(
                """
                DELETE FROM sasldb AS s
                USING unnest(\(users.map(\.username))::text[], \(users.map(\.realm))::text[]) AS d(username, realm)
                WHERE s.username = d.username AND s.realm = d.realm AND s.property = ANY(\(properties)::text[])
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
}
