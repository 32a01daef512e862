import AuthService
@preconcurrency import Dispatch
import Logging
import PAMAuthentication
import PasswordService
import SMTPSubmission
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// Reloads on SIGHUP, without dropping a session: the configuration file (host name, mechanisms, limits, sender map,
/// database path, log level) and the certificate and key (through the root ``TLSReader`` once the daemon has dropped
/// root). New connections get the new values; sessions in progress keep theirs. The password services take the new
/// policy, database path and certificate the same way. A configuration or certificate that does not load is logged
/// and the running one kept.
///
/// Listeners, the sink, the user and the connection limits need a restart; a changed value is logged as such. When a
/// privileged password writer makes the changes, a reload that changes what it was started with (the store's keys,
/// the realm, the password policy) is refused as a whole, naming those keys: the writer, root, would go on writing
/// the old database with the old rules while the daemon read the new one, and the daemon, no longer root, cannot
/// start another writer.
struct ReloadService: Service {
    let source: ConfigurationSource
    let startup: DaemonConfiguration
    let identity: RunIdentity?
    let server: SMTPServer
    let passwordServer: PoppassdServer?
    /// The Dovecot auth socket's server: new connections take the new store, realm and mechanisms.
    let dovecotServer: DovecotAuthServer?
    let saslauthdServer: SaslauthdServer?
    /// Whether a privileged writer makes the changes: it keeps the database, realm and policy it was started with.
    let passwordWriterInUse: Bool
    /// The root reader of the certificate and key, when the daemon has dropped root.
    let tlsReader: TLSReader?
    /// The PAM source made at startup, kept by every reload (its keys need a restart).
    let pamSource: PAMPasswordSource?
    /// Told that a reload runs, and when it is over (whether it applied or not).
    let status: ServiceManagerStatus
    let logger: Logger

    func run() async throws {
        let signals = AsyncStream<Void> { continuation in
            signal(SIGHUP, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
            source.setEventHandler { continuation.yield() }
            continuation.onTermination = { _ in source.cancel() }
            source.resume()
        }
        for await _ in signals.cancelOnGracefulShutdown() {
            reload()
        }
    }

    /// One reload.
    func reload() {
        status.reloading()
        defer { status.ready() }
        logger.info("reload requested", metadata: ["config": .string(source.path)])
        let configuration: DaemonConfiguration
        do throws(ConfigurationError) {
            let (loaded, warnings) = try source.load()
            for warning in warnings { logger.warning("configuration", metadata: ["detail": .string(warning)]) }
            configuration = loaded
        } catch {
            logger.error("reload failed, configuration kept", metadata: ["detail": .string(error.message)])
            return
        }
        for key in configuration.restartKeysChanged(from: startup) {
            logger.warning("changed key needs a restart", metadata: ["key": .string(key)])
        }
        if passwordWriterInUse {
            let keys = configuration.passwordWriterKeysChanged(from: startup)
            guard keys.isEmpty else {
                logger.error(
                    "reload refused, configuration kept",
                    metadata: [
                        "keys": .string(keys.joined(separator: ",")),
                        "detail": .string(
                            "the password writer runs as root with the values it started with, and the daemon, no "
                                + "longer root, cannot start another: restart sasl-smtpd to change them"
                        ),
                    ]
                )
                return
            }
        }
        do throws(ConfigurationError) {
            // Everything is read and checked first; only then is anything applied.
            let loginMap = try configuration.loadSenderLoginMap()
            let changer = try configuration.passwordChanger(logger: logger)
            if let warning = try FileChecks.checkDatabase(configuration.sasldbPath) {
                logger.warning("database", metadata: ["detail": .string(warning)])
            }
            if configuration.needsTLS {
                let owners = TLSMaterial.keyOwners(identity: identity)
                if let tlsReader, !tlsReader.reads(configuration) {
                    logger.warning(
                        "changed key needs a restart",
                        metadata: ["key": "tls_certificate or tls_key", "for": "reading them as root"]
                    )
                }
                let (tls, warnings) = try TLSMaterial.load(configuration, keyOwners: owners, reader: tlsReader)
                for warning in warnings { logger.warning("certificate", metadata: ["detail": .string(warning)]) }
                do {
                    try server.reloadTLS(tls)
                    if !configuration.poppassdTLSListen.isEmpty { try passwordServer?.reloadTLS(tls) }
                } catch {
                    throw ConfigurationError("\(error)")
                }
            }
            server.updateSessionConfiguration(
                configuration.sessionConfiguration(loginMap: loginMap, passwordSource: pamSource)
            )
            passwordServer?.updateChanger(changer)
            dovecotServer?.update(configuration.dovecotConnectionConfiguration)
            saslauthdServer?.authenticator.updateContext(configuration.saslauthdContext)
        } catch {
            logger.error("reload failed, configuration kept", metadata: ["detail": .string(error.message)])
            return
        }
        KeyValueLogHandler.setLevel(configuration.logLevel)
        logger.notice("reloaded", metadata: ["config": .string(source.path)])
    }
}
