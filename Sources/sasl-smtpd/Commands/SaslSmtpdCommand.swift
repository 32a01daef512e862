import ArgumentParser
import SASLDB
import SASLDBPostgres

/// `sasl-smtpd`: the SMTP submission daemon (the default subcommand, `serve`) and its test client.
@main
struct SaslSmtpdCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sasl-smtpd",
        abstract: "An SMTP submission server that authenticates against a Cyrus sasldb2 file.",
        discussion: "Without a subcommand, runs the daemon (serve). See sasl-smtpd(8).",
        version: PackageVersion.text,
        subcommands: [ServeCommand.self, SMTPTestCommand.self, PasswordWriterCommand.self, TLSReaderCommand.self],
        defaultSubcommand: ServeCommand.self
    )

    /// Runs the command with PostgreSQL stores served by a bounded connection pool per database.
    static func main() {
        StoreFactory.install(PostgresBackendProvider(mode: .pooled))
        main(nil)
    }
}
