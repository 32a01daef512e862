import ArgumentParser
import SASLDB

/// The root command: only subcommands, each a file of its own.
struct SasldbCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sasldb",
        abstract: "Manage Cyrus SASL sasldb2 credential files (GDBM or Berkeley DB).",
        discussion: """
            The file is read and written in the exact layout Cyrus SASL 2.1.28 uses, so Postfix, Cyrus IMAP and \
            Cyrus's own tools keep working with it. Every change is atomic. Installed or invoked as saslpasswd2 or \
            sasldblistusers2 (or `sasldb saslpasswd2 ...`), it behaves like Cyrus's tools. See sasldb(8).
            """,
        version: SasldbCommand.version,
        subcommands: [
            AddCommand.self, DeleteCommand.self, ListCommand.self, VerifyCommand.self, DisableCommand.self,
            EnableCommand.self, ImportCommand.self, ExportCommand.self, ConvertCommand.self, CheckCommand.self,
            PasswdCommand.self, DatabaseCommand.self,
        ]
    )

    /// The version printed by `--version`.
    static let version = PackageVersion.text
}
