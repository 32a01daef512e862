import AuthService
import Logging
import NIOCore
import PasswordService
import SMTPSubmission
import ServerKit
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// Starts and runs the daemon, in Postfix's order: read the configuration, the certificate and the key as root,
/// check the files it trusts, start the privileged password writer and TLS reader, bind the listeners, drop to the
/// configured user and group before the first connection is accepted, then serve until SIGTERM or SIGINT (graceful:
/// sessions finish their message), reloading on SIGHUP.
struct DaemonRunner {
    let configuration: DaemonConfiguration
    let source: ConfigurationSource
    /// `--demo`: serving as the invoking user is expected, even root; instructions are printed.
    let demoDirectory: String?
    /// What systemd is told (`$NOTIFY_SOCKET`), when it asked.
    let status: ServiceManagerStatus
    let logger: Logger

    func run() async throws {
        let identity = try runIdentity()
        let keyOwners = TLSMaterial.keyOwners(identity: identity)

        var tls: ServerTLSConfiguration?
        if configuration.needsTLS {
            let (material, warnings) = try TLSMaterial.load(configuration, keyOwners: keyOwners)
            for warning in warnings { logger.warning("certificate", metadata: ["detail": .string(warning)]) }
            tls = material
        }
        if let warning = try FileChecks.checkDatabase(configuration.sasldbPath) {
            logger.warning("database", metadata: ["detail": .string(warning)])
        }
        try prepareSpool(for: identity)
        let loginMap = try configuration.loadSenderLoginMap()
        // Read as root, before the drop, like the TLS key: the daemon's user need not be able to read it later.
        let relay = try configuration.loadRelaySecurity(secretOwners: keyOwners)

        let writer = try startPasswordWriter(identity: identity)
        defer { writer?.stop() }
        let tlsReader = try startTLSReader(identity: identity)
        defer { tlsReader?.stop() }
        let passwordServer = try makePasswordServer(tls: tls, identity: identity, writer: writer)
        let pamSource = configuration.makePAMSource()
        let clientFailures = AuthFailureTracker(policy: configuration.authFailurePolicy)
        let accountFailures = AuthFailureTracker(policy: configuration.authFailurePolicy)
        let dovecotServer = try makeDovecotAuthServer(
            identity: identity,
            clientFailures: clientFailures,
            accountFailures: accountFailures
        )
        let saslauthdServer = try makeSaslauthdServer(
            identity: identity,
            failures: clientFailures,
            accountFailures: accountFailures
        )
        let server: SMTPServer
        do throws(SMTPServerError) {
            server = try SMTPServer(
                configuration: configuration.serverConfiguration(tls: tls),
                sessionConfiguration: configuration.sessionConfiguration(loginMap: loginMap, passwordSource: pamSource),
                sink: configuration.makeSink(relayTLS: relay.tls, relayCredentials: relay.credentials),
                logger: logger,
                beforeAccepting: { _ in
                    // poppassd's port 106 is privileged too: both servers bind as root before the drop.
                    _ = try await passwordServer?.listeningAddresses()
                    // Postfix's private/ directory is writable by root and postfix only: bound before the drop too.
                    _ = try await dovecotServer?.listeningAddresses()
                    _ = try await saslauthdServer?.listeningAddresses()
                    dropPrivileges(to: identity, passwordWriterInUse: writer != nil)
                },
                authFailures: clientFailures,
                accountFailures: accountFailures
            )
        } catch {
            throw ConfigurationError("\(error)")
        }
        let reload = ReloadService(
            source: source,
            startup: configuration,
            identity: identity,
            server: server,
            passwordServer: passwordServer,
            dovecotServer: dovecotServer,
            saslauthdServer: saslauthdServer,
            passwordWriterInUse: writer != nil,
            tlsReader: tlsReader,
            pamSource: pamSource,
            status: status,
            logger: logger
        )
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(
                service: server,
                successTerminationBehavior: .gracefullyShutdownGroup,
                failureTerminationBehavior: .gracefullyShutdownGroup,
                serviceName: "smtp"
            ),
            .init(
                service: reload,
                successTerminationBehavior: .ignore,
                failureTerminationBehavior: .gracefullyShutdownGroup,
                serviceName: "reload"
            ),
        ]
        // The optional services end the group when they stop, as the SMTP server does.
        let optionalServices: [(service: (any Service)?, name: String)] = [
            (passwordServer, "poppassd"),
            (dovecotServer, "dovecot-auth"),
            (saslauthdServer, "saslauthd"),
        ]
        for case let (service?, name) in optionalServices {
            services.append(
                .init(
                    service: service,
                    successTerminationBehavior: .gracefullyShutdownGroup,
                    failureTerminationBehavior: .gracefullyShutdownGroup,
                    serviceName: name
                )
            )
        }
        // Last, so a graceful stop reaches it first (see ServiceManagerStatus).
        services.append(
            .init(
                service: status,
                successTerminationBehavior: .ignore,
                failureTerminationBehavior: .ignore,
                serviceName: "systemd-notify"
            )
        )
        var groupConfiguration = ServiceGroupConfiguration(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(configuration.drainTimeout + 15)
        let group = ServiceGroup(configuration: groupConfiguration)

        logger.notice(
            "starting",
            metadata: [
                "hostname": .string(configuration.hostname),
                "sink": .string(configuration.sink.description),
                "user": .string(identity?.userName ?? "(unchanged)"),
            ]
        )
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            tasks.addTask { await announceReady(server: server) }
            try await tasks.waitForAll()
        }
        logger.notice("exiting")
    }

    /// The identity to switch to, `nil` to keep the current one.
    private func runIdentity() throws(ConfigurationError) -> RunIdentity? {
        let uid = geteuid()
        guard !configuration.user.isEmpty else {
            if uid == 0 {
                if demoDirectory == nil {
                    throw ConfigurationError(
                        "refusing to serve as root: set user (and group) to an unprivileged account such as sasl-smtpd"
                    )
                }
                logger.warning("demo serves as root: do not expose it beyond 127.0.0.1")
            }
            return nil
        }
        let identity = try RunIdentity(user: configuration.user, group: configuration.group)
        if uid == 0 { return identity }
        guard identity.uid == uid else {
            throw ConfigurationError(
                "user = \(configuration.user) needs the daemon to start as root (it runs as uid \(uid)); "
                    + "set user = (empty) to serve as the invoking user"
            )
        }
        return nil
    }

    /// The privileged password writer when the daemon starts as root to drop to `identity` and serves password
    /// changes, `nil` otherwise. It is started now, before the listeners are bound and the privileges dropped, as a
    /// copy of this program (`/proc/self/exe`, so an upgrade that replaced the file on disk does not matter).
    ///
    /// Always, rather than only when `identity` cannot write the database's directory: that cannot be told before
    /// the switch (`access` answers for root), and the writer's check of the current password protects the database
    /// from a compromised daemon either way. A daemon started as its own user changes passwords itself.
    ///
    /// With `password_writer_socket` the writer is not started but connected to: systemd starts one for the
    /// connection in a unit of its own (`sasl-smtpd-writer.socket`), whether the daemon started as root or not.
    private func startPasswordWriter(identity: RunIdentity?) throws(ConfigurationError) -> PasswordWriterClient? {
        guard configuration.passwordServiceEnabled else { return nil }
        if !configuration.passwordWriterSocket.isEmpty {
            do throws(PasswordServiceError) {
                let writer = try PasswordWriterClient(connectingTo: configuration.passwordWriterSocket, logger: logger)
                logger.info(
                    "password writer connected",
                    metadata: ["socket": .string(configuration.passwordWriterSocket)]
                )
                return writer
            } catch {
                throw ConfigurationError("password_writer_socket: \(error)")
            }
        }
        guard identity != nil else { return nil }
        let arguments = configuration.passwordWriterSettings.flatMap { ["--set", $0] }
        do throws(PasswordServiceError) {
            let writer = try PasswordWriterClient(
                executable: "/proc/self/exe",
                arguments: ["sasl-smtpd", PasswordWriterCommand.name] + arguments,
                logger: logger
            )
            logger.info("password writer started", metadata: ["pid": .string(writer.pid.map(String.init) ?? "")])
            return writer
        } catch {
            throw ConfigurationError("\(error)")
        }
    }

    /// The root reader of the certificate and key when the daemon serves TLS and starts as root to drop to
    /// `identity`, `nil` otherwise: a reload reads them again, and they may lie where only root may look (certbot's
    /// `/etc/letsencrypt/live` and `archive` are 0700).
    private func startTLSReader(identity: RunIdentity?) throws(ConfigurationError) -> TLSReader? {
        guard configuration.needsTLS, let identity else { return nil }
        return try TLSReader(configuration: configuration, identity: identity, logger: logger)
    }

    /// The poppassd server, `nil` when no password socket is configured. The local socket's directory is created
    /// (0755) for the daemon's user while still root, so the daemon can remove its socket when it stops.
    private func makePasswordServer(
        tls: ServerTLSConfiguration?,
        identity: RunIdentity?,
        writer: PasswordWriterClient?
    ) throws(ConfigurationError) -> PoppassdServer? {
        guard configuration.passwordServiceEnabled else { return nil }
        if !configuration.passwdSocket.isEmpty {
            try DaemonDirectory.prepare(
                FileChecks.directoryName(of: configuration.passwdSocket),
                mode: 0o755,
                for: identity
            )
        }
        let changer = try configuration.passwordChanger(logger: logger)
        do throws(PasswordServiceError) {
            return try PoppassdServer(
                configuration: configuration.poppassdConfiguration(tls: tls),
                changer: changer,
                writer: writer,
                logger: logger
            )
        } catch {
            throw ConfigurationError("\(error)")
        }
    }

    /// A Maildir spool that does not exist is created (0700) for the daemon's user while still root.
    private func prepareSpool(for identity: RunIdentity?) throws(ConfigurationError) {
        guard case .maildir(let directory) = configuration.sink else { return }
        try DaemonDirectory.prepare(directory, mode: 0o700, for: identity)
    }

    /// Once every listener is bound and before the server accepts anyone: drop privileges and check what the
    /// unprivileged daemon must reach. A failure here ends the process at once: it must never serve with root
    /// privileges it meant to give up.
    private func dropPrivileges(to identity: RunIdentity?, passwordWriterInUse: Bool) {
        do throws(ConfigurationError) {
            if let identity {
                try identity.adopt()
                logger.info(
                    "privileges dropped",
                    metadata: ["user": .string(identity.userName), "uid": "\(identity.uid)", "gid": "\(identity.gid)"]
                )
            }
            try checkAfterDrop(passwordWriterInUse: passwordWriterInUse)
        } catch {
            logger.critical("cannot serve", metadata: ["detail": .string(error.message)])
            exit(1)
        }
    }

    /// Once the server accepts connections: say it is ready, where.
    private func announceReady(server: SMTPServer) async {
        let addresses: [SocketAddress]
        do {
            addresses = try await server.listeningAddresses()
        } catch {
            return  // the server failed to start; the group reports why
        }
        let listening = addresses.map { address in
            let host = address.ipAddress.map { $0.contains(":") ? "[\($0)]" : $0 } ?? "\(address)"
            return "\(host):\(address.port ?? 0)"
        }
        logger.notice("ready", metadata: ["listen": .string(listening.joined(separator: ","))])
        status.ready()
        if let demoDirectory {
            let ports = zip(configuration.listeners, addresses).map { ($0.kind, $1.port) }
            let submission = ports.first { $0.0 == .submission }?.1
            let smtps = ports.first { $0.0 == .implicitTLS }?.1
            print(DemoSetup.instructions(root: demoDirectory, submissionPort: submission, smtpsPort: smtps))
            fflush(nil)
        }
    }

    /// The database must be readable and the spool writable by the user the daemon now is.
    private func checkAfterDrop(passwordWriterInUse: Bool) throws(ConfigurationError) {
        guard case .file = configuration.store.location else { return try checkSpoolAfterDrop() }
        if let problem = FileChecks.readableProblem(configuration.sasldbPath) {
            throw ConfigurationError(
                "sasldb_path \(configuration.sasldbPath) is not readable by the daemon's user (\(problem)); "
                    + "on Debian: adduser \(configuration.user) sasl"
            )
        }
        try checkSpoolAfterDrop()
        // Every change replaces the database by a rename in its directory: without write access there, each
        // change made in-process would fail (logged), while logins keep working. The writer runs as root.
        let databaseDirectory = FileChecks.directoryName(of: configuration.sasldbPath)
        if configuration.passwordServiceEnabled, !passwordWriterInUse, access(databaseDirectory, W_OK) != 0 {
            logger.warning(
                "password changes will fail",
                metadata: [
                    "detail": .string(
                        "\(databaseDirectory) is not writable by the daemon's user: give it a database directory "
                            + "of its own, or empty poppassd_listen and passwd_socket"
                    )
                ]
            )
        }
    }

    /// The spool must be usable and the sendmail program executable by the user the daemon now is.
    private func checkSpoolAfterDrop() throws(ConfigurationError) {
        if case .maildir = configuration.sink, let sink = configuration.makeSink() as? MaildirSink {
            do throws(MessageSinkError) {
                try sink.prepare()
            } catch {
                throw ConfigurationError("the spool is not usable by the daemon's user: \(error)")
            }
        }
        if case .sendmail(let path) = configuration.sink, !FileChecks.isExecutable(path) {
            throw ConfigurationError("sink \(configuration.sink): \(path) is not an executable file")
        }
    }
}
