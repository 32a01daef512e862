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
}
