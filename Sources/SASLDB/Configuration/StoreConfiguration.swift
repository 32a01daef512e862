#if canImport(Glibc)
import Glibc
#endif

/// Everything that decides how a credential store is opened and written, made once from the site configuration and
/// handed to ``StoreFactory``: which store, the format of a new file, the secrets a password change writes, the SCRAM
/// iteration count, the realm of names without `@realm`.
///
/// Every entry point (each command, the Cyrus personalities, the daemon and its password writer) builds its store from
/// one of these, so a setting made in the site file holds everywhere. Each setting remembers where it came from
/// (``origins``), for `sasldb check` and `sasl-smtpd --check-config`.
public struct StoreConfiguration: Sendable, Equatable {
    /// Which store holds the records.
    public enum Location: Sendable, Equatable, CustomStringConvertible {
        /// A sasldb2 file (GDBM or Berkeley DB) at this path.
        case file(path: String)
        /// A PostgreSQL database, reached through the backend provider the program installed in ``StoreFactory``.
        case postgres(PostgresLocation)

        /// A `postgresql://` URL names a PostgreSQL store, anything else a file.
        ///
        /// - Throws: ``PostgresLocationError`` for a URL that cannot be used.
        public init(parsing text: String) throws(PostgresLocationError) {
            self = PostgresLocation.isURL(text) ? .postgres(try PostgresLocation(url: text)) : .file(path: text)
        }

        public var description: String {
            switch self {
            case .file(let path): return path
            case .postgres(let location): return location.description
            }
        }
    }

    /// The default database file, as Cyrus's.
    public static let defaultPath = "/etc/sasldb2"

    /// Which store holds the records.
    public var location: Location
    /// The format of a database file the store creates; an existing file keeps its own.
    public var newFileFormat: DatabaseFormat
    /// The secrets a password change writes, with the SCRAM iteration count.
    public var secretPolicy: SecretPolicy
    /// The realm of login names without `@realm`; `nil` means the host name, as Cyrus.
    public var defaultRealm: String?
    /// Where each setting came from: `file:line`, an environment variable, a command-line option, or "default".
    public var origins: [StoreSetting: String]

    /// The built-in defaults: `/etc/sasldb2`, this system's Cyrus format, Cyrus's secrets (plaintext only), 4096
    /// SCRAM iterations, the host name as realm.
    public init(newFileFormat: DatabaseFormat = .thisSystemsCyrus) {
        location = .file(path: Self.defaultPath)
        self.newFileFormat = newFileFormat
        secretPolicy = .cyrusDefault
        defaultRealm = nil
        origins = [:]
    }

    /// The built-in defaults over the database file at `path`.
    public static func file(_ path: String) -> StoreConfiguration {
        var configuration = StoreConfiguration()
        configuration.location = .file(path: path)
        return configuration
    }

    /// The settings of `site` over the built-in defaults.
    ///
    /// - Throws: ``SiteConfigurationError`` naming the line of a value that cannot be used (an unknown format or
    ///   secret, an iteration count out of range, `no_plaintext` that is neither yes nor no, a policy writing nothing).
    public init(
        site: SiteConfiguration,
        newFileFormat: DatabaseFormat = .thisSystemsCyrus
    ) throws(SiteConfigurationError) {
        self.init(newFileFormat: newFileFormat)
        try readLocation(site)
        if let name = site[StoreSetting.newFileFormat.name] {
            guard let format = DatabaseFormat(name: name) else {
                throw site.error(StoreSetting.newFileFormat.name, "expected gdbm or bdb, not \(name)")
            }
            self.newFileFormat = format
            origins[.newFileFormat] = site.origin(of: StoreSetting.newFileFormat.name)
        }
        if try site.flag("no_plaintext") == true {
            secretPolicy = .noPlaintext
            origins[.secrets] = site.origin(of: "no_plaintext")
        }
        if let list = site["secrets"] {
            do {
                secretPolicy = try SecretPolicy(parsingList: list)
            } catch {
                throw site.error("secrets", "\(error)")
            }
            origins[.secrets] = site.origin(of: "secrets")
        }
        if let text = site[StoreSetting.scramIterations.name] {
            guard let count = Int(text), (1...SecretPolicy.maximumSCRAMIterations).contains(count) else {
                throw site.error(
                    StoreSetting.scramIterations.name,
                    "expected a number from 1 to \(SecretPolicy.maximumSCRAMIterations), not \(text)"
                )
            }
            secretPolicy.scramIterations = count
            origins[.scramIterations] = site.origin(of: StoreSetting.scramIterations.name)
        }
        if let realm = site[StoreSetting.defaultRealm.name] {
            defaultRealm = realm
            origins[.defaultRealm] = site.origin(of: StoreSetting.defaultRealm.name)
        }
        do {
            try secretPolicy.validate()
        } catch {
            throw site.error(site["secrets"] != nil ? "secrets" : "no_plaintext", "\(error)")
        }
    }

    /// The database file's path, for a file store; the URL of a PostgreSQL store.
    public var filePath: String { location.description }

    /// The realm of names without `@realm`: ``defaultRealm``, else `hostName`.
    public func realm(hostName: String) -> String { defaultRealm ?? hostName }

    /// One line per setting, `name = value (origin)`, in ``StoreSetting`` order: what `sasldb check` and
    /// `sasl-smtpd --check-config` print. Nothing in it is secret.
    ///
    /// - Parameter hostName: the realm shown when ``defaultRealm`` is unset.
    public func report(hostName: String) -> [String] {
        StoreSetting.allCases.map { setting in
            let value: String
            switch setting {
            case .location: value = location.description
            case .newFileFormat: value = newFileFormat.name
            case .secrets: value = secretPolicy.description
            case .scramIterations: value = String(secretPolicy.scramIterations)
            case .defaultRealm: value = realm(hostName: hostName)
            }
            let origin = origins[setting] ?? (setting == .defaultRealm && defaultRealm == nil ? "host name" : "default")
            return "\(setting.name) = \(value) (\(origin))"
        }
    }

    /// Sets `setting` from a source that overrides the site file (a command-line option, the daemon's own file).
    public mutating func override(_ setting: StoreSetting, origin: String, _ change: (inout StoreConfiguration) -> Void)
    {
        change(&self)
        origins[setting] = origin
    }
}

extension DatabaseFormat {
    /// The format this system's Cyrus reads: Debian and Ubuntu build libsasl2 with Berkeley DB, the others with GDBM.
    public static var thisSystemsCyrus: DatabaseFormat {
        access("/etc/debian_version", F_OK) == 0 ? .berkeleyDB : .gdbm
    }

    /// The format named `name`: `gdbm`, or `bdb` (also `berkeleydb`, `berkeley-db`, `db`), case-insensitive.
    public init?(name: String) {
        switch name.lowercased() {
        case "gdbm": self = .gdbm
        case "bdb", "berkeleydb", "berkeley-db", "db": self = .berkeleyDB
        default: return nil
        }
    }

    /// The short name, as ``init(name:)`` reads it.
    public var name: String { rawValue }
}
