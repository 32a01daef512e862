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
            "The sasldb file (default: $SASLDB_PATH, else sasldb_path of the site configuration, else /etc/sasldb2).",
            valueName: "path"
        )
    )
    var database: String?

    /// The database path after defaults.
    var path: String { database ?? StoreOptions.defaultPath }

    /// The database of this site when no path is given (also `chgsaslpasswd`'s, which takes none).
    static var defaultPath: String {
        Host.environment("SASLDB_PATH") ?? SiteConfig.current.values["sasldb_path"] ?? "/etc/sasldb2"
    }

    /// A backend for reading the file (writes use ``WriteOptions/backend(for:)``).
    func backend() -> FileBackend { FileBackend(path: path) }
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
    static var siteDefaultRealm: String { SiteConfig.current.values["default_realm"] ?? Host.defaultRealm }

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
        if let group, groupID(group) == nil {
            throw ValidationError("no such group: \(group)")
        }
        if groupWritable && group == nil {
            throw ValidationError("--group-writable needs --group")
        }
        guard lockTimeout >= 0 else { throw ValidationError("--lock-timeout cannot be negative") }
    }

    /// The format of new files after defaults.
    var newFileFormat: DatabaseFormat {
        format ?? SiteConfig.current.values["database_format"].flatMap(DatabaseFormat.init(argument:))
            ?? DatabaseFormat.systemDefault
    }

    /// A backend that writes `store`'s file with these options.
    func backend(for store: StoreOptions) -> FileBackend {
        var options = FileBackendOptions()
        options.newFileFormat = newFileFormat
        options.newFileGroup = group.flatMap(groupID)
        options.newFileGroupWritable = groupWritable
        options.lockTimeoutMilliseconds = lockTimeout * 1000
        return FileBackend(path: store.path, options: options)
    }

    private func groupID(_ name: String) -> gid_t? {
        if let number = gid_t(name) { return number }
        guard let entry = getgrnam(name) else { return nil }
        return entry.pointee.gr_gid
    }
}

extension DatabaseFormat: ExpressibleByArgument {
    public init?(argument: String) {
        switch argument.lowercased() {
        case "gdbm": self = .gdbm
        case "bdb", "berkeleydb", "berkeley-db", "db": self = .berkeleyDB
        default: return nil
        }
    }

    public static var allValueStrings: [String] { ["gdbm", "bdb"] }

    /// The format this system's Cyrus reads: Debian and Ubuntu build libsasl2 with Berkeley DB, the others with
    /// GDBM. `$SASLDB_FORMAT` overrides it.
    static var systemDefault: DatabaseFormat {
        if let name = Host.environment("SASLDB_FORMAT"), let format = DatabaseFormat(argument: name) { return format }
        return access("/etc/debian_version", F_OK) == 0 ? .berkeleyDB : .gdbm
    }
}
