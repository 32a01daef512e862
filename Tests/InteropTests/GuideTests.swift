import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The command lines of the guides in `Docs/`, run as an administrator would run them, against private files: each
/// block marked `<!-- guide-test: NAME -->` is read from the guide (so a guide that changes is what is tested) and run
/// by `/bin/sh -e` with `sasldb` and `sasl-smtpd` first on `PATH`, the system paths it names (`/etc/`, `/root/`)
/// moved under a temporary folder, and the few substitutions each test lists (addresses, ports, the user's name).
final class GuideTests: XCTestCase {
    static let docs = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Docs")

    /// The marked block `name` of `guide`, its indentation removed; fails the test when the guide lost it.
    func block(_ name: String, of guide: String) throws -> String {
        let text = try String(contentsOf: Self.docs.appendingPathComponent(guide), encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let marker = try XCTUnwrap(
            lines.firstIndex { $0.trimmingCharacters(in: .whitespaces) == "<!-- guide-test: \(name) -->" },
            "\(guide) has no block marked \(name)"
        )
        let indent = lines[marker].prefix { $0 == " " }.count
        var body: [String] = []
        for line in lines[(marker + 2)...] {
            if line.trimmingCharacters(in: .whitespaces) == "```" { break }
            body.append(String(line.dropFirst(min(indent, line.prefix { $0 == " " }.count))))
        }
        return body.joined(separator: "\n") + "\n"
    }

    /// A folder standing for the root of a host: `etc/` and `root/` under it.
    func host() throws -> String {
        let root = try TestSupport.temporaryDirectory(for: self).path
        XCTAssertEqual(chmod(root, 0o755), 0)
        for directory in ["etc", "root"] { XCTAssertEqual(mkdir(root + "/" + directory, 0o755), 0) }
        return root
    }

    /// A folder of links named `sasldb` and `sasl-smtpd` to the built programs, to put first on `PATH`.
    func binaries() throws -> String {
        let directory = try TestSupport.temporaryDirectory(for: self).path
        let built = URL(fileURLWithPath: TestSupport.sasldb).deletingLastPathComponent()
        for name in ["sasldb", "sasl-smtpd"] {
            let target = built.appendingPathComponent(name).path
            guard FileManager.default.isExecutableFile(atPath: target) else { throw XCTSkip("\(name) is not built") }
            XCTAssertEqual(symlink(target, directory + "/" + name), 0)
        }
        XCTAssertEqual(chmod(directory, 0o755), 0)
        return directory
    }

    /// Runs `script` with `/etc/` and `/root/` moved under `root`, after `substitutions`, in `root`.
    @discardableResult
    private func run(
        _ script: String,
        host root: String,
        bin: String,
        substitutions: [(String, String)] = [],
        input: String? = nil,
        environment: [String: String] = [:]
    ) throws -> CommandResult {
        var text = script
        for (from, to) in substitutions { text = text.replacingOccurrences(of: from, with: to) }
        text = text.replacingOccurrences(of: "/etc/", with: root + "/etc/")
            .replacingOccurrences(of: "/root/", with: root + "/root/")
        var variables = environment
        variables["PATH"] =
            bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin") + ":/usr/sbin:/sbin"
        variables["SASLDB_CONFIG"] = root + "/etc/sasl2/sasldb.conf"
        variables["HOME"] = root + "/root"
        let result = try TestSupport.run(
            "/bin/sh",
            ["-e", "-c", "cd '\(root)'\n" + text],
            input: input.map { Data($0.utf8) },
            environment: variables,
            timeout: 60
        )
        XCTAssertEqual(result.status, 0, "\(text)\n\(result.stdoutText)\(result.stderrText)")
        return result
    }

    // MARK: - Migrating from Cyrus

    func testMigratingFromCyrusCommandsWorkOnADebianFileMadeByCyrus() throws {
        try TestSupport.require("saslpasswd2", "shred")
        guard getgrnam("sasl") != nil, getgrnam("postfix") != nil, geteuid() == 0 else {
            throw XCTSkip("needs root and the groups sasl (sasl2-bin) and postfix (postfix)")
        }
        let guide = "migrating-from-cyrus.md"
        let bin = try binaries()
        let old = try host()
        // Debian's starting point: Cyrus's file, root:sasl 0660, a user with a plaintext password.
        let database = old + "/etc/sasldb2"
        let cyrus = try TestSupport.run(
            "/usr/sbin/saslpasswd2",
            ["-f", database, "-c", "-p", "-u", "example.org", "alice"],
            input: Data("alice password\n".utf8)
        )
        XCTAssertEqual(cyrus.status, 0, cyrus.stderrText)
        XCTAssertEqual(chown(database, 0, try XCTUnwrap(getgrnam("sasl")).pointee.gr_gid), 0)
        XCTAssertEqual(chmod(database, 0o660), 0)

        let found = try run(try block("find-file", of: guide), host: old, bin: bin)
        XCTAssertTrue(found.stdoutText.contains("format: Berkeley DB"), found.stdoutText)
        XCTAssertTrue(found.stdoutText.contains("owner: root:sasl, mode 660"), found.stdoutText)

        try run(try block("backup", of: guide), host: old, bin: bin)
        XCTAssertTrue(FileManager.default.fileExists(atPath: old + "/root/sasldb2.before-migration.dump"))

        for name in ["convert", "dump-move"] {
            // The first lines run on the old host, the rest (from the comment about the new one) on a new host.
            let script = try block(name, of: guide)
            let lines = script.split(separator: "\n", omittingEmptySubsequences: false)
            let split = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("# ") && $0.contains("host") && $0 != lines[0] })
            try run(lines[..<split].joined(separator: "\n"), host: old, bin: bin)
            let new = try host()
            for file in try FileManager.default.contentsOfDirectory(atPath: old + "/root") {
                try FileManager.default.copyItem(atPath: old + "/root/" + file, toPath: new + "/root/" + file)
            }
            try run(lines[split...].joined(separator: "\n"), host: new, bin: bin)
            let listed = try TestSupport.sasldb(["list", "-f", new + "/etc/sasldb2"])
            XCTAssertTrue(listed.stdoutText.contains("alice@example.org"), name + ": " + listed.stdoutText)
            let checked = try TestSupport.sasldb(["check", "-f", new + "/etc/sasldb2"])
            XCTAssertTrue(checked.stdoutText.contains("format: GDBM"), name + ": " + checked.stdoutText)
            XCTAssertTrue(
                checked.stdoutText.contains("owner: root:postfix, mode 640"),
                name + ": " + checked.stdoutText
            )
        }

        try "alice@example.org:a new password\nbob@example.org:his password\n"
            .write(toFile: old + "/users.txt", atomically: true, encoding: .utf8)
        try run(try block("plaintext-free", of: guide), host: old, bin: bin)
        XCTAssertFalse(FileManager.default.fileExists(atPath: old + "/users.txt"), "shred -u removed the list")
        try run(try block("check-plaintext", of: guide), host: old, bin: bin, environment: ["SASLDB_PATH": database])
        let verified = try TestSupport.sasldb(
            ["verify", "--stdin", "-f", database, "bob@example.org"],
            input: "his password\n"
        )
        XCTAssertEqual(verified.status, 0)

        try run(try block("backup-export", of: guide), host: old, bin: bin)
        try run(
            try block("restore", of: guide),
            host: old,
            bin: bin,
            substitutions: [("sasldb2-2026-11-25.dump", "sasldb2-$(date +%F).dump")]
        )
        let restored = try TestSupport.sasldb(["check", "-f", database])
        XCTAssertTrue(restored.stdoutText.contains("owner: root:sasl, mode 660"), restored.stdoutText)
        XCTAssertEqual(
            try TestSupport.sasldb(["verify", "--stdin", "-f", database, "bob@example.org"], input: "his password\n")
                .status,
            0
        )
    }

    // MARK: - Running beside Postfix

    func testRunningBesidePostfixSetupChecksStartsAndTakesMailFromSwaksAndSmtpTest() throws {
        try TestSupport.require("swaks", "openssl", "adduser")
        guard getgrnam("sasl") != nil, geteuid() == 0 else {
            throw XCTSkip("needs root and the group sasl (sasl2-bin)")
        }
        let guide = "running-beside-postfix.md"
        let bin = try binaries()
        let root = try host()
        let user = "sasldbguide"
        // The guide's user, under a name of the test's, removed at the end.
        addTeardownBlock {
            _ = try? TestSupport.run("/usr/sbin/userdel", [user])
            _ = try? TestSupport.run("/usr/sbin/groupdel", [user])
        }
        try run(try block("daemon-user", of: guide), host: root, bin: bin, substitutions: [("sasl-smtpd", user)])
        let database = root + "/etc/sasldb2"
        try run(
            try block("add-user", of: guide),
            host: root,
            bin: bin,
            input: "alice password\n",
            environment: ["SASLDB_PATH": database]
        )
        var status = stat()
        XCTAssertEqual(stat(database, &status), 0)
        XCTAssertEqual(status.st_gid, try XCTUnwrap(getgrnam("sasl")).pointee.gr_gid)
        XCTAssertEqual(status.st_mode & 0o7777, 0o660)

        // The certificate where certbot keeps it: a directory only root may enter.
        let live = root + "/live"
        XCTAssertEqual(mkdir(live, 0o700), 0)
        let made = try TestSupport.run(
            "openssl",
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=mail.example.org",
                "-addext", "subjectAltName=DNS:mail.example.org,IP:127.0.0.1", "-keyout", live + "/privkey.pem",
                "-out", live + "/fullchain.pem",
            ]
        )
        XCTAssertEqual(made.status, 0, made.stderrText)
        XCTAssertEqual(chmod(live + "/privkey.pem", 0o600), 0)
        var configuration = try block("config-1a", of: guide)
        for (from, to) in [
            ("0.0.0.0:587, [::]:587", "127.0.0.1:0"), ("0.0.0.0:465, [::]:465", "127.0.0.1:0"),
            ("/etc/letsencrypt/live/mail.example.org/", live + "/"), ("/etc/sasldb2", database),
            ("user = sasl-smtpd", "user = \(user)"),
        ] {
            XCTAssertTrue(configuration.contains(from), "config-1a no longer holds \(from)")
            configuration = configuration.replacingOccurrences(of: from, with: to)
        }
        let configurationPath = root + "/etc/sasl-smtpd.conf"
        try configuration.write(toFile: configurationPath, atomically: true, encoding: .utf8)

        let checked = try run(
            try block("check-config", of: guide),
            host: root,
            bin: bin,
            substitutions: [("--check-config", "--check-config --config /etc/sasl-smtpd.conf")]
        )
        XCTAssertTrue(checked.stderrText.contains("configuration OK"), checked.stderrText)

        // Postfix's sendmail needs a configured Postfix; the messages go to a Maildir instead.
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: bin + "/sasl-smtpd")
        daemon.arguments = ["--config", configurationPath, "--sink", "maildir:\(root)/Maildir"]
        let log = root + "/daemon.log"
        XCTAssertTrue(FileManager.default.createFile(atPath: log, contents: nil))
        daemon.standardError = FileHandle(forWritingAtPath: log)
        daemon.standardOutput = FileHandle.nullDevice
        try daemon.run()
        addTeardownBlock {
            if daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) }
            daemon.waitUntilExit()
        }
        var started = ""
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, daemon.isRunning, !started.contains("msg=ready") {
            usleep(20_000)
            started = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        }
        let ready = try XCTUnwrap(started.split(separator: "\n").first { $0.contains("msg=ready") }, started)
        let ports = ready.split(separator: " ").first { $0.hasPrefix("listen=") }.map {
            $0.dropFirst(7).split(separator: ",").compactMap { $0.split(separator: ":").last.flatMap { Int($0) } }
        }
        let (submission, smtps) = try (XCTUnwrap(ports?.first), XCTUnwrap(ports?.last))

        try "alice password\n".write(toFile: root + "/root/.pw", atomically: true, encoding: .utf8)
        let checking = try run(
            try block("checking", of: guide),
            host: root,
            bin: bin,
            substitutions: [
                ("mail.example.org:587", "127.0.0.1:\(submission)"),
                ("--auth-user alice@example.org", "--auth-user alice@example.org --auth-password 'alice password'"),
                (
                    "--host mail.example.org --port 465",
                    "--host 127.0.0.1 --port \(smtps) --cafile \(live)/fullchain.pem"
                ),
            ]
        )
        XCTAssertTrue(checking.stdoutText.contains("235 "), checking.stdoutText)
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: root + "/Maildir/new").count,
            2,
            "swaks and smtp-test each delivered a message"
        )
        kill(daemon.processIdentifier, SIGTERM)
        daemon.waitUntilExit()
        XCTAssertEqual(daemon.terminationStatus, 0)
    }

    // MARK: - Password change

    /// Writes `etc/sasl-smtpd.conf` under `root`: one plain loopback listener, CRAM-MD5 in the clear, the database and
    /// spool under `root`, then `extra`; returns its path.
    func plainConfiguration(root: String, extra: String = "") throws -> String {
        let configuration = root + "/etc/sasl-smtpd.conf"
        try """
        hostname = mail.example.org
        submission_listen =
        plain_listen = 127.0.0.1:0
        require_tls = no
        mechanisms_without_tls = CRAM-MD5
        sasldb_path = \(root)/etc/sasldb2
        sink = maildir:\(root)/Maildir
        user =
        \(extra)
        """.write(toFile: configuration, atomically: true, encoding: .utf8)
        return configuration
    }

    func testPasswordServicesTurnOffAsThePasswordChangeGuideSays() throws {
        let bin = try binaries()
        let root = try host()
        let configuration = try plainConfiguration(root: root)
        let before = try TestSupport.run(bin + "/sasl-smtpd", ["--config", configuration, "--check-config"])
        XCTAssertTrue(before.stdoutText.contains("poppassd_listen =\n"), before.stdoutText)
        XCTAssertTrue(before.stdoutText.contains("passwd_socket = /run/sasl-smtpd/passwd.sock"), before.stdoutText)
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: configuration))
        handle.seekToEndOfFile()
        handle.write(Data(try block("services-off", of: "password-change.md").utf8))
        try handle.close()
        let after = try TestSupport.run(bin + "/sasl-smtpd", ["--config", configuration, "--check-config"])
        XCTAssertEqual(after.status, 0, after.stderrText)
        XCTAssertTrue(
            after.stdoutText.contains("poppassd_listen = \n") || after.stdoutText.contains("poppassd_listen =\n"),
            after.stdoutText
        )
        XCTAssertTrue(
            after.stdoutText.contains("passwd_socket = \n") || after.stdoutText.contains("passwd_socket =\n"),
            after.stdoutText
        )
    }
}
