import SASLDB
import SASLDBPostgres

/// The check `--check-config` makes of a PostgreSQL store: the daemon only meets the database at the first AUTH, so
/// a wrong URL, password file, role, database or table version would otherwise show as 454s in the log.
extension ConfigurationCheck {
    /// Connects once and checks the table version, within two query timeouts.
    static func checkPostgres(_ location: PostgresLocation) throws(ConfigurationError) {
        do {
            try PostgresBackendProvider.check(location)
        } catch {
            throw ConfigurationError("sasldb_path: \(error)")
        }
    }
}
