import Foundation
import XCTest

/// A site file that cannot be used stops every program before it touches a store: exit 78 (`EX_CONFIG`), the file
/// and line named, the database byte for byte as it was.
final class SiteConfigErrorTests: XCTestCase {
    private var directory: URL!
    private var database: String { directory.appendingPathComponent("sasldb2").path }
    private var site: URL { directory.appendingPathComponent("sasldb.conf") }
    private var environment: [String: String] { ["SASLDB_CONFIG": site.path, "SASL_CONF_PATH": directory.path] }

    override func setUpWithError() throws {
        directory = try TestSupport.temporaryDirectory(for: self)
        let added = try TestSupport.sasldb(
            ["add", "-f", database, "--stdin", "alice@example.org"],
            input: "Quartz-river-1\n",
            environment: ["SASLDB_CONFIG": directory.appendingPathComponent("none.conf").path]
        )
        XCTAssertEqual(added.status, 0, added.stderrText)
    }

    /// The daemon built beside `sasldb`.
    private var daemon: String {
        URL(fileURLWithPath: TestSupport.sasldb).deletingLastPathComponent().appendingPathComponent("sasl-smtpd").path
    }

    /// Every command, personality and the daemon, each with its input.
    private var invocations: [(executable: String, arguments: [String], input: String?)] {
        let daemonConfiguration = directory.appendingPathComponent("sasl-smtpd.conf").path
        return [
            (TestSupport.sasldb, ["add", "-f", database, "--stdin", "bob@example.org"], "Quartz-river-2\n"),
            (TestSupport.sasldb, ["add", "--stdin", "bob@example.org"], "Quartz-river-2\n"),
            (TestSupport.sasldb, ["delete", "-f", database, "alice@example.org"], nil),
            (TestSupport.sasldb, ["list", "-f", database], nil),
            (TestSupport.sasldb, ["verify", "-f", database, "--stdin", "alice@example.org"], "Quartz-river-1\n"),
            (TestSupport.sasldb, ["disable", "-f", database, "alice@example.org"], nil),
            (TestSupport.sasldb, ["enable", "-f", database, "alice@example.org"], nil),
            (TestSupport.sasldb, ["import", "-f", database, "-"], "carol@example.org:Quartz-river-3\n"),
            (TestSupport.sasldb, ["export", "-f", database], nil),
            (TestSupport.sasldb, ["check", "-f", database], nil),
            (TestSupport.sasldb, ["convert", "--to", "gdbm", database, database + ".new"], nil),
            (
                TestSupport.sasldb, ["passwd", "-f", database, "--stdin", "alice@example.org"],
                "Quartz-river-1\nQuartz-river-4\nQuartz-river-4\n"
            ),
            (TestSupport.sasldb, ["saslpasswd2", "-p", "-f", database, "dave@example.org"], "Quartz-river-5\n"),
            (TestSupport.sasldb, ["sasldblistusers2", "-f", database], nil),
            (TestSupport.sasldb, ["chgsaslpasswd", "-p", "alice@example.org"], "Quartz-river-6\n"),
            (daemon, ["--config", daemonConfiguration, "--check-config"], nil),
            (daemon, ["--config", daemonConfiguration], nil),
        ]
    }

    private func assertEveryProgramStops(
        naming location: String,
        file: StaticString = #filePath,
        line: UInt = #line
    )
        throws
    {
        try """
        plain_listen = 127.0.0.1:0
        submission_listen =
        require_tls = no
        mechanisms_without_tls = CRAM-MD5
        sasldb_path = \(database)
        sink = maildir:\(directory.path)/Maildir
        passwd_socket =
        poppassd_listen =
        """.write(toFile: directory.appendingPathComponent("sasl-smtpd.conf").path, atomically: true, encoding: .utf8)
        let before = try TestSupport.contents(URL(fileURLWithPath: database))
        for invocation in invocations {
            let result = try TestSupport.run(
                invocation.executable,
                invocation.arguments,
                input: invocation.input.map { Data($0.utf8) },
                environment: environment
            )
            let name = invocation.arguments.prefix(2).joined(separator: " ")
            XCTAssertEqual(result.status, 78, "\(name): \(result.stderrText)", file: file, line: line)
            XCTAssertTrue(
                result.stderrText.contains(location),
                "\(name) does not name \(location): \(result.stderrText)",
                file: file,
                line: line
            )
            XCTAssertEqual(
                try TestSupport.contents(URL(fileURLWithPath: database)),
                before,
                "\(name) changed the database",
                file: file,
                line: line
            )
            XCTAssertFalse(FileManager.default.fileExists(atPath: database + ".new"), file: file, line: line)
        }
    }

    func testASyntaxErrorStopsEveryProgramWithExit78NamingFileAndLine() throws {
        try Data("# site\nno_plaintext: yes\nsecrets cram-md5\n".utf8).write(to: site)
        try assertEveryProgramStops(naming: "\(site.path):3:")
    }

    func testAMisspelledKeyStopsEveryProgramInsteadOfBeingIgnored() throws {
        try Data("no_plaintxt: yes\n".utf8).write(to: site)
        try assertEveryProgramStops(naming: "\(site.path):1: unknown key no_plaintxt")
    }

    func testAValueThatCannotBeUsedStopsEveryProgram() throws {
        try Data("sasldb_path: /nonexistent/x\nno_plaintext: maybe\n".utf8).write(to: site)
        try assertEveryProgramStops(naming: "\(site.path):2: no_plaintext: expected yes or no")
    }

    func testSaslpasswd2HonoursTheSiteDatabaseFormat() throws {
        try TestSupport.require("gdbmtool", "db5.3_dump")
        for format in ["gdbm", "bdb"] {
            try Data("database_format: \(format)\n".utf8).write(to: site)
            let path = directory.appendingPathComponent("new-\(format)").path
            let created = try TestSupport.run(
                TestSupport.sasldb,
                ["saslpasswd2", "-c", "-p", "-f", path, "erin@example.org"],
                input: Data("Quartz-river-7\n".utf8),
                environment: environment
            )
            XCTAssertEqual(created.status, 0, created.stderrText)
            let check = try TestSupport.sasldb(["check", "-f", path], environment: environment)
            XCTAssertTrue(
                check.stdoutText.contains(format == "gdbm" ? "format: GDBM" : "format: Berkeley DB"),
                "\(format): \(check.stdoutText)"
            )
            // The library of that format reads it.
            let reader =
                format == "gdbm"
                ? try TestSupport.run("/usr/bin/gdbmtool", ["-r", path, "count"])
                : try TestSupport.run("/usr/bin/db5.3_dump", ["-p", path])
            XCTAssertEqual(reader.status, 0, "\(format): \(reader.stderrText)")
        }
    }
}
