import ArgumentParser
import SASLDB

#if canImport(Glibc)
import Glibc
#endif

/// The database every subcommand works on.
struct StoreOptions: ParsableArguments {
    @Option(
        name: [.customShort("f"), .long],
        help: ArgumentHelp(
            """
            The sasldb file, or a postgresql:// URL (default: $SASLDB_PATH, else the store of the site \
            configuration, else /etc/sasldb2).
            """,
            valueName: "path|url"
        )
    )
    var database: String?

    /// The store of this command: the site configuration's, with `-f` over its location.
    var configuration: StoreConfiguration {
        var configuration = SiteConfig.current.store
        if let database {
            let location = (try? StoreConfiguration.Location(parsing: database)) ?? .file(path: database)
            configuration.override(.location, origin: "-f") { $0.location = location }
        }
        return configuration
    }

    func validate() throws {
        guard let database, PostgresLocation.isURL(database) else { return }
        do {
            _ = try PostgresLocation(url: database)
        } catch {
            throw ValidationError("-f: \(error)")
        }
    }

    /// The database path after defaults.
    var path: String { configuration.filePath }

    /// A backend for reading the store (writes use ``WriteOptions/backend(for:)``).
    func backend() -> any CredentialBackend { StoreFactory.makeBackend(configuration) }
}

/// How a name without `@realm` is completed.
struct RealmOptions: ParsableArguments {
    @Option(
        name: [.customShort("u"), .long],
        help: ArgumentHelp(
            """
            The realm of names given without @realm (default: default_realm of the site configuration, else the \
            host name, lowercased, as Cyrus).
            """,
            valueName: "realm"
        )
    )
    var realm: String?

    /// The realm after defaults.
    var defaultRealm: String {
        realm.flatMap { $0.isEmpty ? nil : $0 } ?? RealmOptions.siteDefaultRealm
    }

    /// The realm of this site when no realm is given (also `chgsaslpasswd`'s, which takes none).
    static var siteDefaultRealm: String { SiteConfig.current.store.realm(hostName: Host.defaultRealm) }

    /// Parses a login name with the default realm.
    func user(_ name: String) throws -> UserID {
        try UserID(parsing: name, defaultRealm: defaultRealm)
    }
}

/// How commands that write make a new file and wait for other writers.
struct WriteOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            """
            The format of a file this command creates: gdbm or bdb (default: database_format of the site \
            configuration, else the format of this system's Cyrus: bdb on Debian and Ubuntu, gdbm elsewhere).
            """,
            valueName: "format"
        )
    )
    var format: DatabaseFormat?

    @Option(
        help: ArgumentHelp(
            "The group of a file this command creates: it is made 0640 (0660 with --group-writable) instead of 0600.",
            valueName: "group"
        )
    )
    var group: String?

    @Flag(help: "Make a created file writable by its group (as Debian's root:sasl 0660).")
    var groupWritable = false

    @Option(help: ArgumentHelp("How long to wait for another writer, in seconds.", valueName: "seconds"))
    var lockTimeout: Int = 10

    func validate() throws {
        if let group, Host.groupID(group) == nil {
            throw ValidationError("no such group: \(group)")
        }
        if groupWritable && group == nil {
            throw ValidationError("--group-writable needs --group")
        }
        guard lockTimeout >= 0 else { throw ValidationError("--lock-timeout cannot be negative") }
    }

    /// The store `store` names with these options' format for a new file, writing the secrets of `policy` (the
    /// site's when `nil`).
    func configuration(for store: StoreOptions, policy: SecretPolicy? = nil) -> StoreConfiguration {
        var configuration = store.configuration
        if let format {
            configuration.override(.newFileFormat, origin: "--format") { $0.newFileFormat = format }
        }
        if let policy { configuration.secretPolicy = policy }
        return configuration
    }

    /// How this command creates a file and waits for other writers.
    var writeOptions: StoreWriteOptions {
        var options = StoreWriteOptions()
        options.newFileGroup = group.flatMap(Host.groupID)
        options.newFileGroupWritable = groupWritable
        options.lockTimeoutMilliseconds = lockTimeout * 1000
        return options
    }

    /// A backend that writes `store`'s database with these options.
    func backend(for store: StoreOptions) -> any CredentialBackend {
        StoreFactory.makeBackend(configuration(for: store), writing: writeOptions)
    }

    /// A store that writes `store`'s database with these options and the secrets of `policy`.
    func credentialStore(for store: StoreOptions, policy: SecretPolicy) -> CredentialStore {
        StoreFactory.makeStore(configuration(for: store, policy: policy), writing: writeOptions)
    }
}

extension DatabaseFormat: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }

    public static var allValueStrings: [String] { ["gdbm", "bdb"] }

    /// The format of a new file when neither an option nor the site configuration names one: `$SASLDB_FORMAT`, else
    /// the format this system's Cyrus reads.
    static var systemDefault: DatabaseFormat {
        Host.environment("SASLDB_FORMAT").flatMap(DatabaseFormat.init(name:)) ?? .thisSystemsCyrus
    }
}
