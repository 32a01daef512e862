import ArgumentParser
import SASLDB

/// `sasldb export`: every record as a `db_dump -p` style dump.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write every record, secrets included, as a dump that `sasldb import` and `db5.3_load` read.",
        discussion: "The dump holds passwords: it is written to standard output, or to a new file created 0600."
    )

    @OptionGroup var store: StoreOptions

    @Option(name: .shortAndLong, help: ArgumentHelp("Write to this new file instead.", valueName: "path"))
    var output: String?

    func run() throws {
        try reportingErrors {
            let dump = DumpFormat.encode(try CredentialStore(backend: store.backend()).records())
            if let output {
                try PrivateFile.create(output, contents: dump)
            } else {
                let code = Output.writeAll(1, dump)
                guard code == 0 else { throw SASLDBError.io(path: "standard output", operation: "write", errno: code) }
            }
        }
    }
}
