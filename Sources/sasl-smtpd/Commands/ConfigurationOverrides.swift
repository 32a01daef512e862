import ArgumentParser

/// The command-line overrides of the main configuration keys; each wins over the file.
struct ConfigurationOverrides: ParsableArguments, Sendable {
    @Option(help: ArgumentHelp("hostname: the name in the greeting, EHLO and Received: headers.", valueName: "name"))
    var hostname: String?

    @Option(help: ArgumentHelp("submission_listen: STARTTLS listeners, as address:port[,...].", valueName: "list"))
    var submissionListen: String?

    @Option(help: ArgumentHelp("smtps_listen: implicit-TLS listeners.", valueName: "list"))
    var smtpsListen: String?

    @Option(help: ArgumentHelp("plain_listen: listeners without TLS (loopback only).", valueName: "list"))
    var plainListen: String?

    @Option(help: ArgumentHelp("tls_certificate: the PEM certificate chain.", valueName: "path"))
    var tlsCertificate: String?

    @Option(help: ArgumentHelp("tls_key: the PEM private key (mode 0600).", valueName: "path"))
    var tlsKey: String?

    @Option(help: ArgumentHelp("sasldb_path: the credential database.", valueName: "path"))
    var sasldbPath: String?

    @Option(help: ArgumentHelp("default_realm: the realm of login names without @.", valueName: "realm"))
    var defaultRealm: String?

    @Option(
        help: ArgumentHelp("sink: maildir:DIR, sendmail:PATH, smtp:HOST:PORT or lmtp:HOST:PORT.", valueName: "sink")
    )
    var sink: String?

    @Option(help: ArgumentHelp("user: the account to serve as after binding.", valueName: "user"))
    var user: String?

    @Option(help: ArgumentHelp("group: its group (default: the user's own).", valueName: "group"))
    var group: String?

    @Option(
        help: ArgumentHelp("log_level: trace, debug, info, notice, warning, error or critical.", valueName: "level")
    )
    var logLevel: String?

    @Option(
        name: .customLong("set"),
        help: ArgumentHelp(
            "Set any configuration key (repeatable), for example --set recipient_limit=50.",
            valueName: "key=value"
        )
    )
    var settings: [String] = []

    /// The overrides as configuration entries, `--set` first, then the named options.
    func entries() throws(ConfigurationError) -> [ConfigurationEntry] {
        var entries: [ConfigurationEntry] = []
        for setting in settings { entries.append(try ConfigurationFile.parseOverride(setting)) }
        let named: [(String, String?)] = [
            ("hostname", hostname), ("submission_listen", submissionListen), ("smtps_listen", smtpsListen),
            ("plain_listen", plainListen), ("tls_certificate", tlsCertificate), ("tls_key", tlsKey),
            ("sasldb_path", sasldbPath), ("default_realm", defaultRealm), ("sink", sink), ("user", user),
            ("group", group), ("log_level", logLevel),
        ]
        for case (let key, let value?) in named {
            entries.append(ConfigurationEntry(key: key, value: value, source: "the command line", line: nil))
        }
        return entries
    }
}
