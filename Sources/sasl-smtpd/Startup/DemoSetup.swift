import SASLDB
import SMTPSubmission
import ServerKit

#if canImport(Glibc)
import Glibc
#endif

/// `--demo DIR`: everything a first look needs, under one directory, on 127.0.0.1 and high ports, as the invoking
/// user: a self-signed certificate (made with the `openssl` command when missing), a database with the user
/// `demo@demo.local` / `demo-password`, a Maildir spool, and a configuration file the daemon then reads (edit it and
/// send SIGHUP; delete it to get the default back).
enum DemoSetup {
    /// The demo user's login.
    static let user = "demo@demo.local"
    /// The demo user's password.
    static let password = "demo-password"
    /// The demo's submission (STARTTLS) port.
    static let submissionPort = 2587
    /// The demo's implicit-TLS port.
    static let smtpsPort = 2465
    /// The demo's poppassd port (106 needs root).
    static let poppassdPort = 2106

    /// Prepares `directory` and returns the path of its configuration file.
    static func prepare(_ directory: String) throws(ConfigurationError) -> String {
        let root = try absolute(directory)
        try makeDirectory(root)
        try makeDirectory(root + "/tls")
        let certificate = root + "/tls/cert.pem"
        let key = root + "/tls/key.pem"
        if access(certificate, F_OK) != 0 || access(key, F_OK) != 0 {
            try makeCertificate(certificate: certificate, key: key)
        }
        try addDemoUser(database: root + "/sasldb2")
        let configuration = root + "/sasl-smtpd.conf"
        if access(configuration, F_OK) != 0 {
            try write(configurationText(root: root), to: configuration)
        }
        return configuration
    }

    /// The demo configuration.
    static func configurationText(root: String) -> String {
        """
        # sasl-smtpd demo configuration, written by `sasl-smtpd --demo \(root)`.
        # Edit it and send SIGHUP to reload; delete it to get this default back. See sasl-smtpd(8).
        hostname = localhost
        submission_listen = 127.0.0.1:\(submissionPort)
        smtps_listen = 127.0.0.1:\(smtpsPort)
        tls_certificate = \(root)/tls/cert.pem
        tls_key = \(root)/tls/key.pem
        sasldb_path = \(root)/sasldb2
        default_realm = demo.local
        # Clients name the host they connected to in DIGEST-MD5's digest-uri (curl names the realm).
        digest_md5_hosts = 127.0.0.1 localhost demo.local
        sink = maildir:\(root)/Maildir
        poppassd_listen = 127.0.0.1:\(poppassdPort)
        passwd_socket = \(root)/passwd.sock
        # Serve as the invoking user.
        user =
        log_level = info

        """
    }

    /// The command lines that send a test message through the demo, for the ports actually bound.
    static func instructions(root: String, submissionPort: Int?, smtpsPort: Int?) -> String {
        var lines = ["", "sasl-smtpd demo is running. Send a test message with one of:", ""]
        if let port = submissionPort {
            lines += [
                "  swaks --server 127.0.0.1:\(port) --tls --auth PLAIN --auth-user \(user) \\",
                "        --auth-password \(password) --from \(user) --to someone@example.org",
                "",
                "  printf 'Subject: hello\\r\\n\\r\\nHello from curl.\\r\\n' | \\",
                "    curl --url smtp://127.0.0.1:\(port) --ssl-reqd --cacert \(root)/tls/cert.pem \\",
                "         --user '\(user):\(password)' --mail-from \(user) --mail-rcpt someone@example.org -T -",
                "",
            ]
        }
        if let port = smtpsPort {
            lines += [
                "  swaks --server 127.0.0.1:\(port) --tlsc --auth CRAM-MD5 --auth-user \(user) \\",
                "        --auth-password \(password) --from \(user) --to someone@example.org",
                "",
            ]
        }
        if let port = submissionPort {
            lines += [
                "  printf '%s\\n' \(password) > \(root)/password && chmod 600 \(root)/password",
                "  \(executablePath) smtp-test --host 127.0.0.1 --port \(port) --starttls --cafile \(root)/tls/cert.pem \\",
                "        --mechanism SCRAM-SHA-256 --user \(user) --password-file \(root)/password",
                "",
            ]
        }
        lines += ["Delivered messages appear in \(root)/Maildir/new (envelopes in \(root)/Maildir/envelope).", ""]
        return lines.joined(separator: "\n")
    }

    /// This program's path, for command lines to copy (`sasl-smtpd` when the kernel does not say).
    static var executablePath: String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, Int(PATH_MAX))
        guard count > 0 else { return "sasl-smtpd" }
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: - Steps

    private static func absolute(_ path: String) throws(ConfigurationError) -> String {
        if path.hasPrefix("/") { return path }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
        guard getcwd(&buffer, buffer.count) != nil else {
            throw ConfigurationError("--demo: cannot find the working directory: \(SystemInfo.describe(errno))")
        }
        let cwd = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var relative = Substring(path)
        while relative.hasPrefix("./") { relative = relative.dropFirst(2) }
        if relative == "." || relative.isEmpty { return cwd }
        while relative.hasSuffix("/") { relative = relative.dropLast() }
        return cwd + "/" + relative
    }

    private static func makeDirectory(_ path: String) throws(ConfigurationError) {
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw ConfigurationError("--demo: cannot create \(path): \(SystemInfo.describe(errno))")
        }
    }

    /// `openssl req -x509` for `localhost` and `127.0.0.1`, valid 30 days, key mode 0600: an ECDSA P-256 key, the kind
    /// sasl-smtpd(8) recommends: its signature costs a handshake a small fraction of an RSA-2048 one.
    private static func makeCertificate(certificate: String, key: String) throws(ConfigurationError) {
        guard let openssl = findExecutable("openssl") else {
            throw ConfigurationError("--demo needs the openssl command to make a certificate (apt-get install openssl)")
        }
        let previous = umask(0o077)
        defer { umask(previous) }
        let outcome: ChildProcess.Outcome
        do throws(ChildProcess.Failure) {
            outcome = try ChildProcess.run(
                path: openssl,
                arguments: [
                    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-sha256",
                    "-days", "30",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", key, "-out", certificate,
                ],
                environment: ["PATH=/usr/bin:/bin"],
                input: [],
                timeout: .seconds(60)
            )
        } catch {
            throw ConfigurationError("--demo: openssl: \(error)")
        }
        guard outcome.termination == .exited(0) else {
            throw ConfigurationError(
                "--demo: openssl req failed: \(String(decoding: outcome.output, as: UTF8.self))"
            )
        }
        chmod(key, 0o600)
    }

    /// Adds the demo user through the store unless the password already verifies.
    private static func addDemoUser(database: String) throws(ConfigurationError) {
        let store = StoreFactory.makeStore(.file(database))
        do {
            let user = try UserID(parsing: user, defaultRealm: "demo.local")
            if access(database, F_OK) == 0, (try? store.verify(password: Array(password.utf8), for: user)) == true {
                return
            }
            try store.setPassword(Array(password.utf8), for: user)
        } catch {
            throw ConfigurationError("--demo: cannot add \(user) to \(database): \(error)")
        }
    }

    private static func write(_ text: String, to path: String) throws(ConfigurationError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ConfigurationError("--demo: cannot create \(path): \(SystemInfo.describe(errno))") }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            throw ConfigurationError("--demo: cannot write \(path): \(SystemInfo.describe(errno))")
        }
    }

    /// The first executable `name` in `$PATH` or the usual directories.
    static func findExecutable(_ name: String) -> String? {
        let path = getenv("PATH").map { String(cString: $0) } ?? ""
        let directories = path.split(separator: ":").map(String.init) + ["/usr/bin", "/bin", "/usr/local/bin"]
        return directories.map { $0 + "/" + name }.first(where: FileChecks.isExecutable)
    }
}
