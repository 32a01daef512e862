import ArgumentParser
import Logging
import PasswordService
import SASLDB

/// `sasl-smtpd password-writer`: the privileged half of the password service, started by `serve` (as root, before it
/// drops its privileges) with its end of the socket pair as descriptor 3. Hidden: it is not run by hand.
///
/// Its settings come as `--set key=value` arguments (the database, the realm, the policy: nothing secret); its audit
/// records go to standard error, which it shares with the daemon, in the daemon's format.
struct PasswordWriterCommand: ParsableCommand {
    /// The subcommand's name, which `serve` starts it by.
    static let name = "password-writer"

    static let configuration = CommandConfiguration(
        commandName: name,
        abstract: "The privileged password writer started by serve.",
        shouldDisplay: false
    )

    @Option(name: .customLong("set"), help: ArgumentHelp("A configuration key it needs.", valueName: "key=value"))
    var settings: [String] = []

    @Option(
        help: ArgumentHelp(
            "Read the daemon's configuration file and the site file, as the writer unit started by systemd does.",
            valueName: "path"
        )
    )
    var config: String?

    func run() throws {
        let socket = try HelperSocket.take(for: Self.name)
        LoggingSystem.bootstrap { label in KeyValueLogHandler(label: label) }
        let logger = Logger(label: "password-writer")
        do {
            var entries: [ConfigurationEntry] = []
            for setting in settings { entries.append(try ConfigurationFile.parseOverride(setting)) }
            let configuration: DaemonConfiguration
            if let config {
                // Started by systemd for the daemon's connection: the same files the daemon read at its start.
                let sitePath = SystemInfo.environment("SASLDB_CONFIG") ?? SiteConfiguration.defaultPath
                (configuration, _) = try ConfigurationSource(path: config, sitePath: sitePath, overrides: entries)
                    .load()
            } else {
                // Started by the daemon: every store setting comes resolved, the writer reads no site file of its own.
                configuration = try DaemonConfiguration(entries: entries, site: SiteConfiguration())
            }
            let changer = try configuration.passwordChanger(logger: logger)
            try PasswordWriter.serve(socket: socket, changer: changer)
        } catch {
            throw logCriticalFailure(error, to: logger)
        }
    }
}
