import ArgumentParser

/// `sasl-smtpd`: the SMTP submission daemon (the default subcommand, `serve`) and its test client.
@main
struct SaslSmtpdCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sasl-smtpd",
        abstract: "An SMTP submission server that authenticates against a Cyrus sasldb2 file.",
        discussion: "Without a subcommand, runs the daemon (serve). See sasl-smtpd(8).",
        subcommands: [ServeCommand.self, SMTPTestCommand.self, PasswordWriterCommand.self],
        defaultSubcommand: ServeCommand.self
    )
}
