import Foundation
import XCTest

/// The site configuration makes "no plaintext on disk" one choice for every tool, personalities included.
final class SiteConfigTests: XCTestCase {
    func testNoPlaintextInTheSiteConfigurationHoldsForAddAndForSaslpasswd2() throws {
        let directory = try TestSupport.temporaryDirectory(for: self)
        let config = directory.appendingPathComponent("sasldb.conf")
        let database = directory.appendingPathComponent("sasldb2").path
        try Data("# site policy\nno_plaintext: yes\nsasldb_path: \(database)\n".utf8).write(to: config)
        let environment = ["SASLDB_CONFIG": config.path, "SASL_CONF_PATH": directory.path]
        let added = try TestSupport.sasldb(
            ["add", "--stdin", "alice@example.org"],
            input: "pw\n",
            environment: environment
        )
        XCTAssertEqual(added.status, 0, added.stderrText)
        let roundcube = try TestSupport.run(
            TestSupport.sasldb,
            ["saslpasswd2", "-p", "-f", database, "bob@example.org"],
            input: Data("pw\n".utf8),
            environment: environment
        )
        XCTAssertEqual(roundcube.status, 0, roundcube.stderrText)
        let listed = try TestSupport.sasldb(["sasldblistusers2", database])
        XCTAssertFalse(listed.stdoutText.contains("userPassword"), listed.stdoutText)
        XCTAssertEqual(listed.stdoutText.split(separator: "\n").count, 6, listed.stdoutText)
        let overridden = try TestSupport.sasldb(
            ["add", "--stdin", "--secrets", "plain", "carol@example.org"],
            input: "pw\n",
            environment: environment
        )
        XCTAssertEqual(overridden.status, 0)
        let check = try TestSupport.sasldb(["check", "-f", database, "--no-plaintext"], environment: environment)
        XCTAssertEqual(check.status, 1)
        XCTAssertTrue(check.stdoutText.contains("problem: carol@example.org: a plaintext userPassword is stored"))
    }

    /// A SCRAM first reply shows a stored verifier's iteration count: `check` warns about the users whose count is
    /// not the site's, so an administrator can align them.
    func testCheckWarnsAboutSCRAMVerifiersWhoseCountIsNotTheSites() throws {
        let directory = try TestSupport.temporaryDirectory(for: self)
        let config = directory.appendingPathComponent("sasldb.conf")
        let database = directory.appendingPathComponent("sasldb2").path
        try Data("sasldb_path: \(database)\nsecrets: scram-sha-256\nscram_iteration_counter: 4096\n".utf8)
            .write(to: config)
        let environment = ["SASLDB_CONFIG": config.path]
        for (user, extra) in [
            ("aligned@example.org", [String]()), ("older@example.org", ["--scram-iterations", "8192"]),
        ] {
            let added = try TestSupport.sasldb(
                ["add", "--stdin"] + extra + [user],
                input: "pw\n",
                environment: environment
            )
            XCTAssertEqual(added.status, 0, added.stderrText)
        }
        let check = try TestSupport.sasldb(["check"], environment: environment)
        XCTAssertTrue(
            check.stdoutText.contains(
                "warning: older@example.org: the SCRAM verifier has 8192 iterations where the site's count is 4096"
            ),
            check.stdoutText
        )
        XCTAssertFalse(check.stdoutText.contains("warning: aligned@example.org"), check.stdoutText)
        XCTAssertTrue(
            check.stdoutText.contains("store: scram_iteration_counter = 4096 (\(config.path):3)"),
            check.stdoutText
        )
    }
}
