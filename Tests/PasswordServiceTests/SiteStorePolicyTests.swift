import Foundation
import SASLDB
import ServerKitTestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The site file's store settings hold for every way a password changes: under `no_plaintext: yes` the user keeps
/// verifiers only whether the change came from `sasldb add`, `sasldb passwd` (directly or through the daemon's
/// socket), `chgsaslpasswd` or poppassd through the daemon's root password writer, and SCRAM-SHA-256, CRAM-MD5 and
/// DIGEST-MD5 logins over SMTP take the new password.
final class SiteStorePolicyTests: XCTestCase {
    private var directory = ""
    private var database: String { directory + "/db/sasldb2" }
    private var site: String { directory + "/sasldb.conf" }
    private var socket: String { directory + "/run/passwd.sock" }
    private var environment: [String: String] { ["SASLDB_CONFIG": site] }

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "site-policy-" + UUID().uuidString
        XCTAssertEqual(mkdir(directory, 0o755), 0)
        XCTAssertEqual(mkdir(directory + "/db", 0o755), 0)
        XCTAssertEqual(mkdir(directory + "/run", 0o755), 0)
        addTeardownBlock { [directory] in try? FileManager.default.removeItem(atPath: directory) }
        try """
        # the site's store: no plaintext on disk
        no_plaintext: yes
        sasldb_path: \(database)
        default_realm: example.org
        passwd_socket: \(socket)

        """.write(toFile: site, atomically: true, encoding: .utf8)
    }

    /// The properties stored for alice, read through the store factory.
    private func aliceProperties() throws -> Set<String> {
        let records = try StoreFactory.makeBackend(.file(database)).records()
        return Set(
            records.filter { $0.key.authid == Array("alice".utf8) }.map {
                String(decoding: $0.key.property, as: UTF8.self)
            }
        )
    }

    private func assertVerifiersOnly(after step: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(
            try aliceProperties(),
            ["authPassword", "cmusaslsecretCRAM-MD5", "cmusaslsecretDIGEST-MD5"],
            "after \(step)",
            file: file,
            line: line
        )
    }

    private func assertCLI(
        _ executable: String,
        _ arguments: [String],
        input: String,
        file: StaticString = #filePath,
        line: UInt = #line
    ) {
        let result = runProcess(executable, arguments, input: Data(input.utf8), environment: environment)
        XCTAssertEqual(result.status, 0, "\(arguments): \(result.output)", file: file, line: line)
    }

    /// SCRAM-SHA-256, CRAM-MD5 and DIGEST-MD5 logins with `password` through the daemon's plain listener.
    private func assertSMTPLogins(
        _ smtpd: String,
        port: Int,
        password: String,
        file: StaticString = #filePath,
        line: UInt = #line
    ) {
        for mechanism in ["SCRAM-SHA-256", "CRAM-MD5", "DIGEST-MD5"] {
            let result = runProcess(
                smtpd,
                [
                    "smtp-test", "--host", "127.0.0.1", "--port", String(port), "--mechanism", mechanism,
                    "--user", "alice", "--password-file", "-", "--timeout", "20",
                ],
                input: Data((password + "\n").utf8)
            )
            XCTAssertEqual(result.status, 0, "\(mechanism): \(result.output)", file: file, line: line)
        }
    }

    func testEveryChangePathKeepsVerifiersOnlyAndSMTPLoginsTakeTheNewPassword() throws {
        let user = try TestUser.create(for: self)
        let sasldb = try builtExecutable("sasldb", override: "SASLDB_BIN")
        let smtpd = try builtExecutable("sasl-smtpd", override: "SASL_SMTPD_BIN")

        assertCLI(sasldb, ["add", "--stdin", "alice"], input: "Quartz-river-1\n")
        try assertVerifiersOnly(after: "sasldb add")
        assertCLI(sasldb, ["passwd", "--stdin", "alice"], input: "Quartz-river-1\nQuartz-river-2\nQuartz-river-2\n")
        try assertVerifiersOnly(after: "sasldb passwd writing the file")
        assertCLI(sasldb, ["chgsaslpasswd", "-p", "alice"], input: "Quartz-river-3\n")
        try assertVerifiersOnly(after: "chgsaslpasswd")
        // The daemon reads the file as an unprivileged user; its root password writer replaces it.
        XCTAssertEqual(chown(database, 0, user.gid), 0)
        XCTAssertEqual(chmod(database, 0o640), 0)

        let daemon = try DaemonProcess.startOnLoopback(
            smtpd,
            mechanisms: "SCRAM-SHA-256 DIGEST-MD5 CRAM-MD5",
            extra: """
                digest_md5_hosts = 127.0.0.1
                poppassd_listen = 127.0.0.1:0
                passwd_socket = \(socket)
                """,
            in: directory,
            environment: environment,
            test: self
        )
        XCTAssertTrue(daemon.log.contains("msg=\"password writer started\""), "the root writer makes the changes")
        assertSMTPLogins(smtpd, port: daemon.smtpPort, password: "Quartz-river-3")

        XCTAssertEqual(
            try RoundcubeDriver.save(
                port: daemon.poppassdPort,
                user: "alice",
                current: "Quartz-river-3",
                new: "Quartz-river-4"
            ),
            .success
        )
        try assertVerifiersOnly(after: "poppassd through the root password writer")
        assertSMTPLogins(smtpd, port: daemon.smtpPort, password: "Quartz-river-4")

        assertCLI(
            sasldb,
            ["passwd", "--stdin", "--socket", socket, "alice"],
            input: "Quartz-river-4\nQuartz-river-5\nQuartz-river-5\n"
        )
        try assertVerifiersOnly(after: "sasldb passwd through the daemon's socket")
        assertSMTPLogins(smtpd, port: daemon.smtpPort, password: "Quartz-river-5")
        daemon.stop()
    }
}
