import ArgumentParser
import SASLDB

#if canImport(Glibc)
import Glibc
#endif

/// `sasldb convert`: GDBM to Berkeley DB and back, a file into PostgreSQL and back, every property kept.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: """
            Copy a sasldb into a new file of the other format (GDBM <-> Berkeley DB), or between a file and a \
            PostgreSQL store, keeping every property.
            """,
        discussion: """
            The new file gets the source's group and permissions. To move a Debian/Ubuntu file (Berkeley DB) to a \
            Fedora/RHEL host (GDBM): sasldb convert --to gdbm /etc/sasldb2 /tmp/sasldb2.gdbm. A postgresql:// URL \
            names a PostgreSQL store on either side; as the destination its tables must exist (sasldb db init) and \
            hold no user yet.
            """
    )

    @Option(
        help: ArgumentHelp(
            "The format of a new file: gdbm or bdb (not for a PostgreSQL destination).",
            valueName: "format"
        )
    )
    var to: DatabaseFormat?

    @Option(help: ArgumentHelp("How long to wait for another writer, in seconds.", valueName: "seconds"))
    var lockTimeout: Int = 10

    @Argument(help: "The existing sasldb file, or a postgresql:// URL.")
    var source: String

    @Argument(help: "The new file, which must not exist, or a postgresql:// URL of an empty store.")
    var destination: String

    func validate() throws {
        for url in [source, destination] where PostgresLocation.isURL(url) {
            do {
                _ = try PostgresLocation(url: url)
            } catch {
                throw ValidationError("\(url): \(error)")
            }
        }
        if PostgresLocation.isURL(destination) {
            guard to == nil else {
                throw ValidationError("--to is the format of a new file, not of a PostgreSQL store")
            }
        } else if to == nil {
            throw ValidationError("--to is needed for a new file: gdbm or bdb")
        }
    }

    func run() throws {
        try reportingErrors {
            let records = try StoreFactory.makeBackend(try Self.store(source)).records()
            guard let to else { return try copyToPostgres(records) }
            guard !PostgresLocation.isURL(source) else { return try copyToFile(records, format: to, status: nil) }
            var status = stat()
            guard stat(source, &status) == 0 else {
                throw SASLDBError.io(path: source, operation: "stat", errno: errno)
            }
            try copyToFile(records, format: to, status: status)
        }
    }

    /// Writes `records` into the new file, with the group and mode of the source file's `status` when it has one.
    private func copyToFile(_ records: [Record], format to: DatabaseFormat, status: stat?) throws {
        var existing = stat()
        if lstat(destination, &existing) == 0 {
            throw SASLDBError.invalidValue("\(destination) already exists; give a new file name")
        }
        var target = StoreConfiguration.file(destination)
        target.newFileFormat = to
        var options = StoreWriteOptions()
        options.lockTimeoutMilliseconds = lockTimeout * 1000
        if let status, status.st_mode & 0o070 != 0 {
            options.newFileGroup = status.st_gid
            options.newFileGroupWritable = status.st_mode & 0o020 != 0
        }
        try StoreFactory.makeBackend(target, writing: options).apply(
            WriteBatch(records.map { .put($0.key, $0.value) })
        )
        Output.error("sasldb: wrote \(records.count) records to \(destination) (\(to))\n")
    }

    /// The store a path or URL argument names, with the defaults of the rest.
    private static func store(_ text: String) throws -> StoreConfiguration {
        var configuration = StoreConfiguration()
        configuration.location = try .init(parsing: text)
        return configuration
    }

    /// Writes `records` into the PostgreSQL store, which must hold no record yet (as a new file must not exist).
    private func copyToPostgres(_ records: [Record]) throws {
        let target = StoreFactory.makeBackend(try Self.store(destination))
        guard try target.recordKeys().count == 0 else {
            throw SASLDBError.invalidValue("\(destination) already holds records; convert into an empty store")
        }
        try target.apply(WriteBatch(records.map { .put($0.key, $0.value) }))
        Output.error("sasldb: wrote \(records.count) records to \(destination)\n")
    }
}
