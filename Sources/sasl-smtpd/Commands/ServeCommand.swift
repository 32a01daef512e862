import ArgumentParser
import Logging
import SASLDB
import ServerKit

#if canImport(Glibc)
import Glibc
#endif

/// `sasl-smtpd [serve]`: runs the daemon, checks its configuration, or runs the demo.
struct ServeCommand: ParsableCommand, Sendable {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the daemon (the default).",
        discussion: """
            Reads the configuration file, then the overrides of the command line (each option below sets the \
            configuration key of the same name; --set sets any key). SIGTERM and SIGINT stop it gracefully; SIGHUP \
            reloads the configuration, the certificate and the key.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The configuration file.", valueName: "path"))
    var config: String = "/etc/sasl-smtpd.conf"

    @Flag(help: "Check the configuration and the files it names, print the effective configuration, and exit.")
    var checkConfig = false

    @Option(
        help: ArgumentHelp(
            "Run a self-contained demo under this directory (certificate, demo user, spool, 127.0.0.1:2587 and 2465).",
            valueName: "dir"
        )
    )
    var demo: String?

    @OptionGroup var overrides: ConfigurationOverrides

    func run() throws {
        // A parent may have left signals blocked (the blocked mask survives exec): SIGTERM, SIGINT and SIGHUP must
        // reach us. Done on the main thread, which stays alive and so can always take them.
        var none = sigset_t()
        sigemptyset(&none)
        sigprocmask(SIG_SETMASK, &none, nil)
        try AsyncBridge.run { try await serve() }
    }

    private func serve() async throws {
        // Read once and removed, as sd_notify(3)'s unset_environment does: no child of the daemon speaks for it.
        let notifier = ServiceManagerNotifier(socketPath: SystemInfo.environment("NOTIFY_SOCKET"))
        unsetenv("NOTIFY_SOCKET")
        let path: String
        let source: ConfigurationSource
        let configuration: DaemonConfiguration
        let warnings: [String]
        do throws(ConfigurationError) {
            path = try demo.map { directory throws(ConfigurationError) in try DemoSetup.prepare(directory) } ?? config
            source = ConfigurationSource(
                path: path,
                sitePath: SystemInfo.environment("SASLDB_CONFIG") ?? SiteConfiguration.defaultPath,
                overrides: try overrides.entries()
            )
            (configuration, warnings) = try source.load()
        } catch {
            printError(error.message)
            throw ExitCode(error.exitCode)
        }
        if checkConfig {
            throw ExitCode(ConfigurationCheck(configuration: configuration, warnings: warnings).run())
        }

        LoggingSystem.bootstrap { label in KeyValueLogHandler(label: label) }
        KeyValueLogHandler.setLevel(configuration.logLevel)
        let logger = Logger(label: "sasl-smtpd")
        for warning in warnings { logger.warning("configuration", metadata: ["detail": .string(warning)]) }
        do {
            try await DaemonRunner(
                configuration: configuration,
                source: source,
                demoDirectory: demo == nil ? nil : FileChecks.directoryName(of: path),
                status: ServiceManagerStatus(notifier: notifier, logger: logger),
                logger: logger
            ).run()
        } catch {
            throw logCriticalFailure(error, to: logger)
        }
    }
}
