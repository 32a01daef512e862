import Foundation
import SASLDB
import ServerKitTestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The daemon started as root with `user = nobody`, as in production: `--check-config` judges the files as that user
/// will see them, and a SIGHUP takes a renewed certificate from a directory only root may read (as certbot's
/// `/etc/letsencrypt/live` is) without dropping the session in progress.
final class DaemonAsRootTests: XCTestCase {
    private var binary: String {
        get throws {
            guard let path = DaemonConfigurationTests.binary else {
                throw XCTSkip("sasl-smtpd is not built beside the tests (swift build)")
            }
            return path
        }
    }

    private func requireRoot() throws {
        guard geteuid() == 0 else { throw XCTSkip("starting the daemon as root to switch to nobody needs root") }
        guard getpwnam("nobody") != nil else { throw XCTSkip("there is no user nobody") }
    }

    /// Starts `executable` (`sasl-smtpd` by default) with `arguments`, its standard output and error in a file of
    /// `directory`, its standard input `input` (nothing when `nil`).
    private func start(
        _ arguments: [String],
        in directory: String,
        name: String,
        executable: String? = nil,
        input: Pipe? = nil
    ) throws -> (Process, String) {
        let log = directory + "/" + name + ".log"
        XCTAssertTrue(FileManager.default.createFile(atPath: log, contents: nil))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try executable ?? binary)
        process.arguments = arguments
        process.standardInput = input ?? FileHandle.nullDevice
        // One handle for both, so that they append to one another rather than overwrite each other.
        let handle = FileHandle(forWritingAtPath: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        addTeardownBlock {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        return (process, log)
    }

    /// Waits until `process` exits (at most `seconds`), and returns its status.
    private func finish(_ process: Process, within seconds: TimeInterval = 30) -> Int32 {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Waits for `text` in the file at `path`, and returns the file.
    private func wait(for text: String, in path: String, while process: Process? = nil) -> String {
        let deadline = Date().addingTimeInterval(30)
        var contents = ""
        while Date() < deadline {
            contents = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            if contents.contains(text) || process?.isRunning == false { break }
            usleep(20_000)
        }
        return contents
    }

    private func makeCertificate(name: String, certificate: String, key: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", "/CN=\(name)",
            "-addext", "subjectAltName=DNS:\(name)", "-keyout", key, "-out", certificate,
        ]
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        XCTAssertEqual(chmod(key, 0o600), 0)
    }

    // MARK: - --check-config as the daemon's user

    func testCheckConfigNamesWhatTheDaemonsUserCannotReachAndPassesOnceItCan() throws {
        try requireRoot()
        let directory = try SinkTestSupport.makeDirectory(self)
        XCTAssertEqual(chmod(directory, 0o755), 0)
        let database = directory + "/sasldb2"
        XCTAssertTrue(
            FileManager.default.createFile(atPath: database, contents: nil, attributes: [.posixPermissions: 0o600])
        )
        XCTAssertEqual(mkdir(directory + "/Maildir", 0o700), 0)
        func write(_ socket: String) throws -> String {
            try nobodysConfiguration(in: directory, database: database, spool: directory + "/Maildir", socket: socket)
        }
        let configuration = try write(directory + "/no-such/run/passwd.sock")

        let (failing, failingLog) = try start(["--config", configuration, "--check-config"], in: directory, name: "1")
        XCTAssertEqual(finish(failing), 1)
        let errors = try String(contentsOfFile: failingLog, encoding: .utf8)
        XCTAssertTrue(errors.contains("error: sasldb_path \(database) (root:root 0600): user nobody"), errors)
        XCTAssertTrue(errors.contains("cannot read it"), errors)
        XCTAssertTrue(errors.contains("error: the maildir spool \(directory)/Maildir (root:root 0700)"), errors)
        XCTAssertTrue(errors.contains("error: passwd_socket \(directory)/no-such/run/passwd.sock"), errors)
        XCTAssertFalse(errors.contains("configuration OK"), errors)

        // What the messages ask for: a group of the user may read the database, the spool is the user's, the socket's
        // parent exists.
        let nobody = try XCTUnwrap(getpwnam("nobody")).pointee
        XCTAssertEqual(chown(database, 0, nobody.pw_gid), 0)
        XCTAssertEqual(chmod(database, 0o640), 0)
        XCTAssertEqual(chown(directory + "/Maildir", nobody.pw_uid, nobody.pw_gid), 0)
        XCTAssertEqual(mkdir(directory + "/run", 0o755), 0)
        _ = try write(directory + "/run/sasl-smtpd/passwd.sock")
        let (passing, passingLog) = try start(["--config", configuration, "--check-config"], in: directory, name: "2")
        XCTAssertEqual(finish(passing), 0, (try? String(contentsOfFile: passingLog, encoding: .utf8)) ?? "")
        XCTAssertTrue(try String(contentsOfFile: passingLog, encoding: .utf8).contains("configuration OK"))
    }

    // MARK: - Directories made as root in the daemon user's directories

    /// The configuration of a daemon started as root for `user = nobody`, whose socket directory and spool lie in a
    /// directory nobody owns (so a compromised daemon account may put links there).
    private func writeConfiguration(in directory: String, socketDirectory: String, spool: String) throws -> String {
        let database = directory + "/sasldb2"
        XCTAssertTrue(
            FileManager.default.createFile(atPath: database, contents: nil, attributes: [.posixPermissions: 0o644])
        )
        return try nobodysConfiguration(
            in: directory,
            database: database,
            spool: spool,
            socket: socketDirectory + "/passwd.sock"
        )
    }

    /// Writes the configuration of a daemon started as root for `user = nobody`: one plain loopback listener
    /// (CRAM-MD5 in the clear), a Maildir `spool`, the local password `socket`, no poppassd.
    private func nobodysConfiguration(
        in directory: String,
        database: String,
        spool: String,
        socket: String
    ) throws -> String {
        let configuration = directory + "/sasl-smtpd.conf"
        try """
        hostname = mail.example.org
        submission_listen =
        plain_listen = 127.0.0.1:0
        require_tls = no
        mechanisms = CRAM-MD5
        mechanisms_without_tls = CRAM-MD5
        sasldb_path = \(database)
        sink = maildir:\(spool)
        user = nobody
        poppassd_listen =
        passwd_socket = \(socket)

        """.write(toFile: configuration, atomically: true, encoding: .utf8)
        return configuration
    }

    /// Starts that daemon and waits (15 s at most) for it to exit: its status and log.
    private func startWithPlantedLink(
        in directory: String,
        socketDirectory: String,
        spool: String
    ) throws -> (status: Int32, log: String) {
        let configuration = try writeConfiguration(in: directory, socketDirectory: socketDirectory, spool: spool)
        let (daemon, log) = try start(["--config", configuration], in: directory, name: "daemon")
        let status = finish(daemon, within: 15)
        return (status, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }

    /// `directory/owned`, owned by nobody, and `directory/victim`, a root directory 0700 with nothing in it.
    private func makeOwnedAndVictim(in directory: String) throws -> (owned: String, victim: String) {
        XCTAssertEqual(chmod(directory, 0o755), 0)
        let nobody = try XCTUnwrap(getpwnam("nobody")).pointee
        let owned = directory + "/owned"
        XCTAssertEqual(mkdir(owned, 0o755), 0)
        XCTAssertEqual(chown(owned, nobody.pw_uid, nobody.pw_gid), 0)
        let victim = directory + "/victim"
        XCTAssertEqual(mkdir(victim, 0o700), 0)
        return (owned, victim)
    }

    /// With a link to a root directory planted at `owned/planted` (the other of `run` and `Maildir` made by nobody),
    /// the daemon refuses to start, naming the link, and the target keeps its owner, mode and (empty) contents.
    private func checkPlantedLinkIsRefused(_ planted: String, other: String) throws {
        try requireRoot()
        let directory = try SinkTestSupport.makeDirectory(self)
        let (owned, victim) = try makeOwnedAndVictim(in: directory)
        let nobody = try XCTUnwrap(getpwnam("nobody")).pointee
        XCTAssertEqual(mkdir(owned + "/" + other, 0o700), 0)
        XCTAssertEqual(chown(owned + "/" + other, nobody.pw_uid, nobody.pw_gid), 0)
        XCTAssertEqual(symlink(victim, owned + "/" + planted), 0)

        let (status, log) = try startWithPlantedLink(
            in: directory,
            socketDirectory: owned + "/run",
            spool: owned + "/Maildir"
        )

        XCTAssertEqual(status, 1, log)
        XCTAssertTrue(log.contains("\(owned)/\(planted) is a symbolic link, which is refused"), log)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: victim), [], "root made something there")
        var after = stat()
        XCTAssertEqual(stat(victim, &after), 0)
        XCTAssertEqual(after.st_uid, 0, "root gave the link's target to the daemon's user")
        XCTAssertEqual(after.st_mode & 0o7777, 0o700)
    }

    /// Before: the existing path was accepted, and root bound the password socket where the link pointed.
    func testSymbolicLinkPlantedWhereTheSocketDirectoryIsIsRefusedAndRootBindsNothingWhereItPoints() throws {
        try checkPlantedLinkIsRefused("run", other: "Maildir")
    }

    /// Before: the existing path was accepted, and the daemon delivered wherever the link pointed.
    func testSymbolicLinkPlantedWhereTheMaildirIsIsRefusedAndItsTargetKeepsItsOwner() throws {
        try checkPlantedLinkIsRefused("Maildir", other: "run")
    }

    func testDirectoriesMadeForTheDaemonsUserAreItsWithTheirModesAndTheSocketIsOpenToEveryone() throws {
        try requireRoot()
        let directory = try SinkTestSupport.makeDirectory(self)
        let (owned, _) = try makeOwnedAndVictim(in: directory)
        let nobody = try XCTUnwrap(getpwnam("nobody")).pointee
        let configuration = try writeConfiguration(
            in: directory,
            socketDirectory: owned + "/run",
            spool: owned + "/Maildir"
        )
        let (daemon, log) = try start(["--config", configuration], in: directory, name: "daemon")
        let started = wait(for: "msg=ready", in: log, while: daemon)
        XCTAssertTrue(started.contains("msg=ready"), started)
        for (path, mode) in [(owned + "/run", 0o755), (owned + "/Maildir", 0o700)] as [(String, mode_t)] {
            var status = stat()
            XCTAssertEqual(lstat(path, &status), 0, path)
            XCTAssertEqual(status.st_mode & S_IFMT, S_IFDIR, path)
            XCTAssertEqual(status.st_uid, nobody.pw_uid, path)
            XCTAssertEqual(status.st_gid, nobody.pw_gid, path)
            XCTAssertEqual(status.st_mode & 0o7777, mode, path)
        }
        var socket = stat()
        XCTAssertEqual(lstat(owned + "/run/passwd.sock", &socket), 0)
        XCTAssertEqual(socket.st_mode & S_IFMT, S_IFSOCK)
        XCTAssertEqual(socket.st_mode & 0o7777, 0o666)
        // The daemon's umask, which it inherited from us, is back once the socket is bound.
        let daemonStatus =
            (try? String(contentsOfFile: "/proc/\(daemon.processIdentifier)/status", encoding: .utf8)) ?? ""
        let ownMask = umask(0o022)
        umask(ownMask)
        XCTAssertTrue(daemonStatus.contains(String(format: "Umask:\t%04o\n", ownMask)), daemonStatus)
        kill(daemon.processIdentifier, SIGTERM)
        XCTAssertEqual(finish(daemon), 0)
    }

    // MARK: - Certificate renewal under a root-only directory

    func testSIGHUPTakesARenewedCertificateFromARootOnlyDirectoryWithoutDroppingTheOpenSession() throws {
        try requireRoot()
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") else {
            throw XCTSkip("openssl is not installed")
        }
        let directory = try SinkTestSupport.makeDirectory(self)
        XCTAssertEqual(chmod(directory, 0o755), 0)
        // As certbot keeps them: only root may enter the directory.
        let live = directory + "/live"
        XCTAssertEqual(mkdir(live, 0o700), 0)
        let certificate = live + "/fullchain.pem"
        let key = live + "/privkey.pem"
        try makeCertificate(name: "old.example.org", certificate: certificate, key: key)
        let configuration = directory + "/sasl-smtpd.conf"
        try """
        hostname = old.example.org
        submission_listen =
        smtps_listen = 127.0.0.1:0
        tls_certificate = \(certificate)
        tls_key = \(key)
        sasldb_path = \(directory)/sasldb2
        sink = maildir:\(directory)/Maildir
        user = nobody
        poppassd_listen =
        passwd_socket =

        """.write(toFile: configuration, atomically: true, encoding: .utf8)

        let (daemon, log) = try start(["--config", configuration], in: directory, name: "daemon")
        let started = wait(for: "msg=ready", in: log, while: daemon)
        let line = try XCTUnwrap(started.split(separator: "\n").first { $0.contains("msg=ready") }, started)
        let port = try XCTUnwrap(line.split(separator: ":").last.flatMap { Int($0.prefix { $0.isNumber }) }, started)
        let readers = children(of: daemon.processIdentifier)
        XCTAssertEqual(readers.count, 1, started)
        for reader in readers {
            XCTAssertTrue(commandLine(reader).contains("tls-reader"), commandLine(reader))
            XCTAssertEqual(uid(of: reader), 0)
        }
        XCTAssertEqual(uid(of: daemon.processIdentifier), try XCTUnwrap(getpwnam("nobody")).pointee.pw_uid)

        // A session opened before the renewal, left waiting.
        let input = Pipe()
        let (session, sessionLog) = try start(
            ["s_client", "-connect", "127.0.0.1:\(port)", "-quiet", "-crlf"],
            in: directory,
            name: "session",
            executable: "/usr/bin/openssl",
            input: input
        )
        XCTAssertTrue(wait(for: "220 ", in: sessionLog, while: session).contains("220 "))
        XCTAssertTrue(try peerSubject(port: port).contains("old.example.org"))

        // The renewal: new files in the root-only directory, then `systemctl reload` (SIGHUP).
        try makeCertificate(name: "new.example.org", certificate: certificate + ".new", key: key + ".new")
        XCTAssertEqual(rename(key + ".new", key), 0)
        XCTAssertEqual(rename(certificate + ".new", certificate), 0)
        try (String(contentsOfFile: configuration, encoding: .utf8) + "hostname = new.example.org\n")
            .replacingOccurrences(of: "hostname = old.example.org\n", with: "")
            .write(toFile: configuration, atomically: true, encoding: .utf8)
        kill(daemon.processIdentifier, SIGHUP)
        let reloaded = wait(for: "msg=reloaded", in: log, while: daemon)
        XCTAssertTrue(reloaded.contains("msg=reloaded"), reloaded)
        XCTAssertFalse(reloaded.contains("reload failed"), reloaded)

        XCTAssertTrue(try peerSubject(port: port).contains("new.example.org"))
        input.fileHandleForWriting.write(Data("NOOP\n".utf8))
        let answered = wait(for: "250 ", in: sessionLog, while: session)
        XCTAssertTrue(answered.contains("250 "), "the session open across the reload was dropped: \(answered)")
        input.fileHandleForWriting.write(Data("QUIT\n".utf8))

        kill(daemon.processIdentifier, SIGTERM)
        XCTAssertEqual(finish(daemon), 0)
        let stopped = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        XCTAssertTrue(stopped.contains("msg=\"tls reader started\""), stopped)
        for reader in readers { XCTAssertEqual(kill(reader, 0), -1, "the reader \(reader) outlived the daemon") }
    }

    // MARK: - sendmail sink with Postfix's postdrop

    func testPostdropThatCannotWriteTheMaildropEndsAtTheTimeoutWithItsGroupAndTheLogNamesGroupPostdrop() async throws {
        try requireRoot()
        try PostfixInstance.requirePostfix()
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
            throw XCTSkip("setpriv (util-linux) is not installed")
        }
        guard getgrnam("postdrop") != nil else { throw XCTSkip("there is no group postdrop (Debian's postfix)") }
        // A private Postfix, whose maildrop is postfix:postdrop 1730 as on a real host.
        let postfix = try await PostfixInstance.start(
            relayPort: 9,
            caFile: "/dev/null",
            client: .init(login: "unused", password: "unused", mechanism: "PLAIN", mapType: "texthash")
        ) { instance in
            addTeardownBlock { await instance.stop() }
        }
        let directory = try SinkTestSupport.makeDirectory(self)
        XCTAssertEqual(chmod(directory, 0o755), 0)
        let database = directory + "/sasldb2"
        try CredentialStore(backend: FileBackend(path: database))
            .setPassword(Array("alice password".utf8), for: try UserID(parsing: "alice", defaultRealm: "example.org"))
        XCTAssertEqual(chmod(database, 0o644), 0)
        try "alice password\n".write(toFile: directory + "/password", atomically: true, encoding: .utf8)
        // Postfix's sendmail for that instance, run as the hardened unit runs it: NoNewPrivileges=yes, so postdrop's
        // setgid bit does not apply.
        let sendmail = directory + "/sendmail"
        try SinkTestSupport.writeScript(
            sendmail,
            """
            MAIL_CONFIG='\(postfix.directory.path)/etc' exec /usr/bin/setpriv --no-new-privs /usr/sbin/sendmail "$@"
            """
        )
        XCTAssertEqual(chmod(sendmail, 0o755), 0)
        let configuration = directory + "/sasl-smtpd.conf"
        try """
        hostname = mail.example.org
        submission_listen =
        plain_listen = 127.0.0.1:0
        require_tls = no
        mechanisms = PLAIN
        mechanisms_without_tls = PLAIN
        sasldb_path = \(database)
        default_realm = example.org
        sink = sendmail:\(sendmail)
        sink_timeout = 3
        user = nobody
        poppassd_listen =
        passwd_socket =

        """.write(toFile: configuration, atomically: true, encoding: .utf8)

        func submit(_ arguments: [String], name: String) throws -> (status: Int32, log: String, client: String) {
            let (daemon, log) = try start(["--config", configuration] + arguments, in: directory, name: name)
            let started = wait(for: "msg=ready", in: log, while: daemon)
            let line = try XCTUnwrap(started.split(separator: "\n").first { $0.contains("msg=ready") }, started)
            let port = try XCTUnwrap(line.split(separator: ":").last.flatMap { Int($0.prefix { $0.isNumber }) })
            let (client, clientLog) = try start(
                [
                    "smtp-test", "--port", "\(port)", "--mechanism", "PLAIN", "--user", "alice@example.org",
                    "--password-file", directory + "/password", "--to", "bob@example.net", "--timeout", "20",
                ],
                in: directory,
                name: name + "-client"
            )
            let status = finish(client, within: 60)
            kill(daemon.processIdentifier, SIGTERM)
            XCTAssertEqual(finish(daemon), 0)
            return (
                status, try String(contentsOfFile: log, encoding: .utf8),
                try String(contentsOfFile: clientLog, encoding: .utf8)
            )
        }

        let refused = try submit([], name: "without-postdrop")
        XCTAssertEqual(refused.status, 1, refused.client)
        XCTAssertTrue(refused.client.contains("SMTP< 451 "), refused.client)
        XCTAssertTrue(refused.log.contains("killed with its process group"), refused.log)
        XCTAssertTrue(refused.log.contains("group postdrop"), refused.log)
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline, !postdrops().isEmpty { usleep(50_000) }
        XCTAssertEqual(postdrops(), [], "postdrop outlived the timeout")

        // The fix the log names: the daemon's user in group postdrop (here as its group).
        let accepted = try submit(["--group", "postdrop"], name: "with-postdrop")
        XCTAssertEqual(accepted.status, 0, accepted.client + accepted.log)
        let picked = await postfix.waitForLog("from=<alice@example.org>")
        XCTAssertTrue(picked, postfix.log())
    }

    /// The running (not zombie) processes called `postdrop`.
    private func postdrops() -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { pid_t($0) }.filter { pid in
            let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
            return status.contains("Name:\tpostdrop\n") && !status.contains("State:\tZ")
        }
    }

    /// The subject line `openssl s_client` prints for a new connection to `port`.
    private func peerSubject(port: Int) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["s_client", "-connect", "127.0.0.1:\(port)"]
        process.standardInput = FileHandle.nullDevice
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        return text.split(separator: "\n").first { $0.hasPrefix("subject=") }.map(String.init) ?? text
    }

    private func children(of parent: pid_t) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { pid_t($0) }.filter { pid in
            let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
            return status.split(separator: "\n").contains("PPid:\t\(parent)")
        }
    }

    private func commandLine(_ pid: pid_t) -> String {
        ((try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? "")
            .replacingOccurrences(of: "\0", with: " ")
    }

    /// The effective uid of `pid`.
    private func uid(of pid: pid_t) -> uid_t? {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("Uid:") } ?? ""
        let values = line.dropFirst(4).split(whereSeparator: { $0 == " " || $0 == "\t" })
        return values.count > 1 ? uid_t(values[1]) : nil
    }
}
