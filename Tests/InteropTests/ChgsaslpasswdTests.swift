import Foundation
import XCTest

/// The `chgsaslpasswd` personality, run through a link of that name as Roundcube's `sasl` driver runs its helper:
/// exactly `-p user`, the new password on standard input, and nothing else.
final class ChgsaslpasswdTests: XCTestCase {
    private var directory: URL!
    private var database: URL { directory.appendingPathComponent("sasldb2") }
    private var helper: String { directory.appendingPathComponent("chgsaslpasswd").path }
    /// The site configuration names the database: chgsaslpasswd takes no path.
    private var environment: [String: String] {
        ["SASLDB_CONFIG": directory.appendingPathComponent("sasldb.conf").path]
    }

    override func setUpWithError() throws {
        directory = try TestSupport.temporaryDirectory(for: self)
        try Data("sasldb_path: \(database.path)\n".utf8).write(to: directory.appendingPathComponent("sasldb.conf"))
        try FileManager.default.createSymbolicLink(atPath: helper, withDestinationPath: TestSupport.sasldb)
        let added = try TestSupport.sasldb(
            ["add", "--stdin", "alice@example.org"],
            input: "Old-passphrase-1\n",
            environment: environment
        )
        XCTAssertEqual(added.status, 0, added.stderrText)
    }

    func testRoundcubeCallSetsThePassword() throws {
        let result = try chgsaslpasswd(["-p", "alice@example.org"], input: "Webmail-chosen-2\n")
        XCTAssertEqual(result.status, 0, result.stderrText)
        XCTAssertEqual(result.stdoutText + result.stderrText, "")
        XCTAssertEqual(try verify("Webmail-chosen-2"), "OK\n")
        XCTAssertEqual(try verify("Old-passphrase-1"), "NO\n")
    }

    func testPolicyRefusalIsExplainedAndChangesNothing() throws {
        let before = try Data(contentsOf: database)
        let result = try chgsaslpasswd(["-p", "alice@example.org"], input: "letmein\n")
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(
            result.stderrText,
            "chgsaslpasswd: the new password is too short: use at least 8 characters\n"
        )
        XCTAssertEqual(try Data(contentsOf: database), before)
    }

    func testUnknownUserIsRefused() throws {
        let before = try Data(contentsOf: database)
        let result = try chgsaslpasswd(["-p", "bob@example.org"], input: "Webmail-chosen-2\n")
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderrText, "chgsaslpasswd: there is no user bob@example.org in the database\n")
        XCTAssertEqual(try Data(contentsOf: database), before)
    }

    func testEveryOtherCallIsRefusedByNameAndChangesNothing() throws {
        let before = try Data(contentsOf: database)
        let elsewhere = directory.appendingPathComponent("other.db").path
        let cases: [([String], String)] = [
            (["-d", "alice@example.org"], "-d is refused (it would disable the account)"),
            (["-p", "-d", "alice@example.org"], "-d is refused"),
            (["-p", "-f", elsewhere, "alice@example.org"], "-f is refused (the database is the site's)"),
            (["-a", "other", "-p", "alice@example.org"], "-a is refused"),
            (["-c", "-p", "alice@example.org"], "-c is refused (it would create an account)"),
            (["-p", "-n", "alice@example.org"], "-n is refused"),
            (["-p", "-u", "example.org", "alice"], "-u is refused (give the realm as user@realm)"),
            (["-v"], "-v is refused"),
            (["-h"], "-h is refused"),
            (["-pc", "alice@example.org"], "-pc is refused"),
            (["--", "-p", "alice@example.org"], "-- is refused"),
            (["-p", "--", "alice@example.org"], "-- is refused"),
            ([], "usage: chgsaslpasswd -p user"),
            (["-p"], "give exactly one"),
            (["-p", "alice@example.org", "bob@example.org"], "give exactly one"),
            (["alice@example.org"], "-p is required"),
        ]
        for (arguments, message) in cases {
            let result = try chgsaslpasswd(arguments, input: "Webmail-chosen-2\n")
            XCTAssertEqual(result.status, 1, "\(arguments)")
            XCTAssertTrue(result.stderrText.hasPrefix("chgsaslpasswd: "), "\(arguments): \(result.stderrText)")
            XCTAssertTrue(result.stderrText.contains(message), "\(arguments): \(result.stderrText)")
            XCTAssertFalse(result.stderrText.contains("Webmail-chosen-2"), "\(arguments): \(result.stderrText)")
            XCTAssertEqual(try Data(contentsOf: database), before, "\(arguments) changed the database")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: elsewhere))
    }

    func testSetuidCopyIsChgsaslpasswdWhateverItIsCalledAndIgnoresTheEnvironment() throws {
        try XCTSkipUnless(geteuid() == 0 && TestSupport.has("setpriv"), "needs root to run as another user")
        // nobody: the caller needs no name here, and the account other tests create stays theirs.
        XCTAssertEqual(chmod(directory.path, 0o755), 0)
        let copy = directory.appendingPathComponent("setuid-helper").path
        try FileManager.default.copyItem(atPath: TestSupport.sasldb, toPath: copy)
        XCTAssertEqual(chmod(copy, 0o4755), 0)
        // Names a caller could give it, through argv[0] or a link of their own: none reaches another personality.
        let saslpasswd2 = directory.appendingPathComponent("saslpasswd2").path
        try FileManager.default.createSymbolicLink(atPath: saslpasswd2, withDestinationPath: copy)
        let before = try Data(contentsOf: database)
        for (program, arguments) in [
            (saslpasswd2, ["-d", "-f", database.path, "alice@example.org"]),
            (copy, ["delete", "-f", database.path, "alice@example.org"]),
            (copy, ["saslpasswd2", "-d", "alice@example.org"]),
        ] {
            let result = try TestSupport.run(
                "setpriv",
                ["--reuid=65534", "--regid=65534", "--clear-groups", program] + arguments,
                environment: environment.merging(["SASLDB_PATH": database.path]) { $1 }
            )
            XCTAssertEqual(result.status, 1, "\(program) \(arguments): \(result.stderrText)")
            XCTAssertTrue(
                result.stderrText.hasPrefix("chgsaslpasswd: chgsaslpasswd only sets a password"),
                "\(program) \(arguments): \(result.stderrText)"
            )
        }
        XCTAssertEqual(try Data(contentsOf: database), before)
    }

    /// A setuid helper serves only the callers `chgsaslpasswd_allow` names. The site file of a setuid run is the
    /// system's, so the test gives it one in a private mount namespace (an overlay on /etc that only the helper sees;
    /// the real /etc is not touched).
    func testSetuidHelperServesOnlyTheCallersTheSiteAllows() throws {
        try XCTSkipUnless(
            geteuid() == 0 && TestSupport.has("setpriv") && TestSupport.has("unshare"),
            "needs root, setpriv and unshare"
        )
        XCTAssertEqual(chmod(directory.path, 0o755), 0)
        let copy = directory.appendingPathComponent("setuid-helper").path
        try FileManager.default.copyItem(atPath: TestSupport.sasldb, toPath: copy)
        XCTAssertEqual(chmod(copy, 0o4755), 0)
        let cases: [(allow: String?, allowed: Bool)] = [
            (nil, false), ("root, www-data", false), ("nobody", true), ("@nogroup", true), ("65534", true),
        ]
        for (index, (allow, allowed)) in cases.enumerated() {
            let overlay = directory.appendingPathComponent("overlay-\(index)")
            for part in ["upper", "work"] {
                try FileManager.default.createDirectory(
                    at: overlay.appendingPathComponent(part),
                    withIntermediateDirectories: true
                )
            }
            let site = overlay.appendingPathComponent("sasldb.conf").path
            try ("sasldb_path: \(database.path)\n" + (allow.map { "chgsaslpasswd_allow: \($0)\n" } ?? ""))
                .write(toFile: site, atomically: true, encoding: .utf8)
            let password = "Webmail-chosen-\(index)"
            let script = """
                mount -t overlay overlay -o lowerdir=/etc,upperdir=\(overlay.path)/upper,workdir=\(overlay.path)/work /etc \
                && mkdir -p /etc/sasl2 && cp \(site) /etc/sasl2/sasldb.conf \
                && exec setpriv --reuid=65534 --regid=65534 --clear-groups \(copy) -p alice@example.org
                """
            let before = try Data(contentsOf: database)
            let result = try TestSupport.run(
                "unshare",
                ["--mount", "--propagation", "private", "sh", "-c", script],
                input: Data((password + "\n").utf8)
            )
            let setting = allow ?? "no setting"
            if allowed {
                XCTAssertEqual(result.status, 0, "\(setting): \(result.stderrText)")
                XCTAssertEqual(try verify(password), "OK\n", setting)
            } else {
                XCTAssertEqual(result.status, 1, "\(setting): \(result.stderrText)")
                XCTAssertEqual(
                    result.stderrText,
                    "chgsaslpasswd: uid 65534 (nobody) may not set passwords: it is not in chgsaslpasswd_allow of "
                        + "/etc/sasl2/sasldb.conf\n",
                    setting
                )
                XCTAssertEqual(try Data(contentsOf: database), before, setting)
            }
        }
    }

    private func chgsaslpasswd(_ arguments: [String], input: String) throws -> CommandResult {
        try TestSupport.run(helper, arguments, input: Data(input.utf8), environment: environment)
    }

    private func verify(_ password: String) throws -> String {
        try TestSupport.sasldb(
            ["verify", "--stdin", "alice@example.org"],
            input: password + "\n",
            environment: environment
        ).stdoutText
    }
}
