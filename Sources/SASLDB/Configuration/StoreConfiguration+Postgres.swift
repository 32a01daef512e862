extension StoreConfiguration {
    /// The site-file key of a whole PostgreSQL location as one URL.
    public static let postgresURLKey = "postgres_url"

    /// The site-file keys that set one part of a PostgreSQL location, over ``postgresURLKey``'s URL.
    public static let postgresKeys = PostgresLocation.settingNames.map { "postgres_" + $0 }

    /// Reads the store's location: `sasldb_path` (a file, or a `postgresql://` URL), or `postgres_url` and the
    /// `postgres_*` keys; naming both a file and PostgreSQL is refused rather than one silently winning.
    mutating func readLocation(_ site: SiteConfiguration) throws(SiteConfigurationError) {
        let pathKey = StoreSetting.location.name
        let postgresKeys = ([Self.postgresURLKey] + Self.postgresKeys).filter { site[$0] != nil }
        if let path = site[pathKey] {
            if let other = postgresKeys.first, !PostgresLocation.isURL(path) {
                throw site.error(other, "\(pathKey) names a file; remove one of the two")
            }
            do {
                location = try Location(parsing: path)
            } catch {
                throw site.error(pathKey, "\(error)")
            }
            origins[.location] = site.origin(of: pathKey)
        }
        guard let first = postgresKeys.first else { return }
        var postgres = PostgresLocation()
        if case .postgres(let fromPath) = location { postgres = fromPath }
        for key in postgresKeys {
            guard let value = site[key] else { continue }
            do {
                if key == Self.postgresURLKey {
                    postgres = try PostgresLocation(url: value)
                } else {
                    try postgres.set(String(key.dropFirst("postgres_".count)), value)
                }
            } catch {
                throw site.error(key, "\(error)")
            }
        }
        location = .postgres(postgres)
        origins[.location] = site.origin(of: first)
    }
}
