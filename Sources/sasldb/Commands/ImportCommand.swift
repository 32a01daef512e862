import ArgumentParser
import SASLDB

#if canImport(Glibc)
import Glibc
#endif

/// `sasldb import`: many users in one atomic write.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Add or update many users at once, all or nothing.",
        discussion: """
            The input is either `user@realm:password` lines (a # line is a comment; the password is the rest of the \
            line) whose secrets are derived by the secret policy, or a dump as written by `sasldb export` or \
            `db5.3_dump -p` of a Cyrus file, whose records are copied as they are. The whole input is checked \
            first: a bad line is reported with its number and nothing is written.
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var realm: RealmOptions
    @OptionGroup var writing: WriteOptions
    @OptionGroup var secrets: SecretOptions

    @Argument(help: "The input file (default: standard input).")
    var input: String?

    func run() throws {
        try reportingErrors {
            let text = try InputFile.read(input)
            let credentials = writing.credentialStore(for: store, policy: try secrets.policy())
            if DumpFormat.looksLikeDump(text) {
                let records = try DumpFormat.decode(text)
                try credentials.importRecords(records)
                Output.error("sasldb: imported \(records.count) records\n")
            } else {
                let entries = try PasswordList.parse(text, defaultRealm: realm.defaultRealm)
                let bar: ProgressBar? = isatty(2) == 1 ? ProgressBar(total: entries.count) : nil
                var report: (@Sendable (Int) -> Void)?
                if let bar { report = { bar.update($0) } }
                try credentials.importPasswords(entries, progress: report)
                bar?.finish()
                Output.error("sasldb: imported \(entries.count) users\n")
            }
        }
    }
}
