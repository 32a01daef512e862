import SASLDB

extension DaemonConfiguration {
    /// `sasldb_path`: the database file, or a `postgresql://` URL naming a PostgreSQL store (see sasl-smtpd(8)).
    static let storeLocationKey = ConfigurationKey(
        name: "sasldb_path",
        needsRestart: false,
        apply: { configuration, value throws(ConfigurationError) in
            guard value.hasPrefix("/") || PostgresLocation.isURL(value) else {
                throw ConfigurationError("expected an absolute path or a postgresql:// URL")
            }
            do {
                configuration.store.location = try StoreConfiguration.Location(parsing: value)
            } catch {
                throw ConfigurationError("\(error)")
            }
        },
        render: { $0.sasldbPath }
    )
}
