import PostgresNIO

/// The tables `sasldb db init` creates: the sasldb layout in SQL, one row per property, and the schema version.
///
/// `value` is `bytea` because some secrets are binary (the CRAM-MD5 state, the DIGEST-MD5 hash); peers that read text
/// (Cyrus's sql plugin, Dovecot) go through `sasldb_text(value)`, which gives the UTF-8 text or `NULL` for binary.
enum PostgresSchema {
    /// The version this build writes and reads.
    static let currentVersion = 1

    /// The longest value a row holds, enforced by the table too (for writers other than ours).
    static let maximumValueLength = 65_536

    /// The property table.
    static let table = "sasldb"

    /// The one-row table holding the schema version.
    static let versionTable = "sasldb_version"

    /// The statements that create version 1, in order; all run in one transaction.
    static let version1: [PostgresQuery] = [
        """
        CREATE TABLE sasldb (
            username text NOT NULL,
            realm text NOT NULL,
            property text NOT NULL,
            value bytea NOT NULL CHECK (octet_length(value) <= 65536),
            PRIMARY KEY (username, realm, property)
        )
        """,
        "CREATE TABLE sasldb_version (version integer NOT NULL)",
        "INSERT INTO sasldb_version (version) VALUES (1)",
        // Text for peers that read text: NULL when the value is binary, so they never see half a secret.
        """
        CREATE FUNCTION sasldb_text(value bytea) RETURNS text LANGUAGE plpgsql IMMUTABLE STRICT AS $$
        BEGIN
            RETURN convert_from(value, 'UTF8');
        EXCEPTION WHEN others THEN
            RETURN NULL;
        END
        $$
        """,
        // Cyrus's sql plugin stores through this: its store probe never matches, so every write must be an upsert,
        // and it deletes a property by writing the text NULL.
        """
        CREATE FUNCTION sasldb_cyrus_store(u text, r text, p text, v text) RETURNS void LANGUAGE sql AS $$
            DELETE FROM sasldb WHERE username = u AND realm = r AND property = p AND v = 'NULL';
            INSERT INTO sasldb (username, realm, property, value)
                SELECT u, r, p, convert_to(v, 'UTF8') WHERE v <> 'NULL'
                ON CONFLICT (username, realm, property) DO UPDATE SET value = EXCLUDED.value;
        $$
        """,
        // Dovecot's SQL passdb reads one password per user: the plaintext when stored (it serves every mechanism),
        // else the SCRAM-SHA-256 verifier rewritten from RFC 5803's form to Dovecot's.
        """
        CREATE VIEW sasldb_dovecot AS
        SELECT DISTINCT ON (username, realm) username, realm,
            CASE property
                WHEN 'userPassword' THEN '{PLAIN}' || sasldb_text(value)
                ELSE regexp_replace(sasldb_text(value),
                    '^SCRAM-SHA-256\\$([0-9]+):([^$]+)\\$([^:]+):(.+)$', '{SCRAM-SHA-256}\\1,\\2,\\3,\\4')
            END AS password
        FROM sasldb
        WHERE property = 'userPassword'
            OR (property = 'authPassword' AND sasldb_text(value) LIKE 'SCRAM-SHA-256$%')
        ORDER BY username, realm, property DESC
        """,
    ]

    /// The statements that bring a schema of version `from` to ``currentVersion`` (none yet beyond creation).
    static func migrations(from version: Int) -> [PostgresQuery] { version == 0 ? version1 : [] }
}
