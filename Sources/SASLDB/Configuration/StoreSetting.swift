/// The settings that make up a ``StoreConfiguration``, each under the key the site file uses.
public enum StoreSetting: String, CaseIterable, Sendable {
    /// Where the records are: `sasldb_path`, or `postgres_url` and the `postgres_*` keys.
    case location = "sasldb_path"
    /// The format of a database file the store creates: `database_format` (gdbm or bdb).
    case newFileFormat = "database_format"
    /// Which secrets a password change writes: `secrets` (a list), or `no_plaintext: yes`.
    case secrets
    /// The PBKDF2 iteration count of SCRAM verifiers: `scram_iteration_counter`.
    case scramIterations = "scram_iteration_counter"
    /// The realm of login names without `@realm`: `default_realm`.
    case defaultRealm = "default_realm"

    /// The name printed in reports, the site file's key.
    public var name: String { rawValue }

    /// Every site-file key that sets it.
    var siteKeys: [String] {
        switch self {
        case .secrets: return ["secrets", "no_plaintext"]
        case .location: return [rawValue, StoreConfiguration.postgresURLKey] + StoreConfiguration.postgresKeys
        default: return [rawValue]
        }
    }
}
