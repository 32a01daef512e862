import ArgumentParser
import SASLDB

#if canImport(Glibc)
import Glibc
#endif

/// `sasldb convert`: GDBM to Berkeley DB and back, every property kept.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Copy a sasldb into a new file of the other format (GDBM <-> Berkeley DB), keeping every property.",
        discussion: """
            The new file gets the source's group and permissions. To move a Debian/Ubuntu file (Berkeley DB) to a \
            Fedora/RHEL host (GDBM): sasldb convert --to gdbm /etc/sasldb2 /tmp/sasldb2.gdbm
            """
    )

    @Option(help: ArgumentHelp("The format of the new file: gdbm or bdb.", valueName: "format"))
    var to: DatabaseFormat

    @Option(help: ArgumentHelp("How long to wait for another writer, in seconds.", valueName: "seconds"))
    var lockTimeout: Int = 10

    @Argument(help: "The existing sasldb file.")
    var source: String

    @Argument(help: "The new file; it must not exist.")
    var destination: String

    func run() throws {
        try reportingErrors {
            let records = try StoreFactory.makeBackend(.file(source)).records()
            var status = stat()
            guard stat(source, &status) == 0 else {
                throw SASLDBError.io(path: source, operation: "stat", errno: errno)
            }
            var existing = stat()
            if lstat(destination, &existing) == 0 {
                throw SASLDBError.invalidValue("\(destination) already exists; give a new file name")
            }
            var target = StoreConfiguration.file(destination)
            target.newFileFormat = to
            var options = StoreWriteOptions()
            options.lockTimeoutMilliseconds = lockTimeout * 1000
            if status.st_mode & 0o070 != 0 {
                options.newFileGroup = status.st_gid
                options.newFileGroupWritable = status.st_mode & 0o020 != 0
            }
            try StoreFactory.makeBackend(target, writing: options).apply(
                WriteBatch(records.map { .put($0.key, $0.value) })
            )
            Output.error("sasldb: wrote \(records.count) records to \(destination) (\(to))\n")
        }
    }
}
