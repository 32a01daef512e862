import Foundation
import XCTest

/// The saslpasswd2 and sasldblistusers2 personalities against Debian's Cyrus tools, run side by side.
final class CompatPersonalityTests: XCTestCase {
    private var scripts: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Interop")
    }

    /// Cases where we deliberately differ, with what we print instead (see saslpasswd2(8), DIFFERENCES FROM CYRUS).
    private let documentedDifferences: [String: String] = [
        // New files are 0600, not 0660 less the umask.
        "create-file-mode.out": "600\n",
        // -n stores the verifiers instead of nothing at all.
        "list-n-flag.out": """
        ida@@HOST@: authPassword
        ida@@HOST@: cmusaslsecretDIGEST-MD5
        ida@@HOST@: cmusaslsecretCRAM-MD5

        """,
    ]

    func testScriptedInvocationsMatchDebianSaslpasswd2AndSasldblistusers2() throws {
        try TestSupport.require("saslpasswd2", "sasldblistusers2", "bash")
        let directory = try TestSupport.temporaryDirectory(for: self)
        let script = scripts.appendingPathComponent("cyrus-transcripts.sh").path
        let cyrus = try TestSupport.run("bash", [script, directory.appendingPathComponent("cyrus").path], timeout: 120)
        XCTAssertEqual(cyrus.status, 0, cyrus.stderrText)
        let ours = try TestSupport.run(
            "bash",
            [script, directory.appendingPathComponent("ours").path],
            environment: [
                "SASLPASSWD2": "\(TestSupport.sasldb) saslpasswd2",
                "SASLDBLISTUSERS2": "\(TestSupport.sasldb) sasldblistusers2",
                "SASLDB_FORMAT": "bdb",
            ],
            timeout: 120
        )
        XCTAssertEqual(ours.status, 0, ours.stderrText)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("cyrus").path)
        XCTAssertGreaterThan(names.count, 100, "the transcript script recorded too few cases")
        for name in names.sorted() {
            let theirs = try String(contentsOf: directory.appendingPathComponent("cyrus/\(name)"), encoding: .utf8)
            let mine = try String(contentsOf: directory.appendingPathComponent("ours/\(name)"), encoding: .utf8)
            if let expected = documentedDifferences[name] {
                XCTAssertNotEqual(theirs, mine, "\(name) no longer differs: update the documented differences")
                XCTAssertEqual(mine, expected, name)
            } else {
                XCTAssertEqual(mine, theirs, name)
            }
        }
    }

    func testTerminalDialoguesMatchDebianSaslpasswd2() throws {
        try TestSupport.require("saslpasswd2", "python3")
        let script = scripts.appendingPathComponent("cyrus-tty.py").path
        let cyrus = try TestSupport.run("python3", [script], timeout: 60)
        let ours = try TestSupport.run(
            "python3",
            [script, "--command", "\(TestSupport.sasldb) saslpasswd2"],
            timeout: 60
        )
        XCTAssertEqual(cyrus.status, 0, cyrus.stderrText)
        XCTAssertEqual(ours.status, 0, ours.stderrText)
        XCTAssertTrue(cyrus.stdoutText.contains("passwords don't match; aborting"), cyrus.stdoutText)
        XCTAssertEqual(ours.stdoutText, cyrus.stdoutText)
    }

    func testRoundcubeSaslDriverCallWorks() throws {
        let directory = try TestSupport.temporaryDirectory(for: self)
        let database = directory.appendingPathComponent("sasldb2").path
        // Roundcube's sasl driver: `saslpasswd2 -p <user>` with the new password on standard input.
        let environment = ["SASL_CONF_PATH": directory.path]
        let config = "sasldb_path: \(database)\n"
        try Data(config.utf8).write(to: directory.appendingPathComponent("saslpasswd.conf"))
        let set = try TestSupport.run(
            TestSupport.sasldb,
            ["saslpasswd2", "-p", "alice@example.org"],
            input: Data("new password\n".utf8),
            environment: environment
        )
        XCTAssertEqual(set.status, 0, set.stderrText)
        XCTAssertEqual(set.stdoutText + set.stderrText, "")
        let verify = try TestSupport.sasldb(
            ["verify", "-f", database, "--stdin", "alice@example.org"],
            input: "new password\n"
        )
        XCTAssertEqual(verify.stdoutText, "OK\n")
    }

    func testSetuidWrapperThatKeepsItsOwnArgv0StillGetsTheSaslpasswd2Personality() throws {
        try TestSupport.require("bash")
        let directory = try TestSupport.temporaryDirectory(for: self)
        let installed = directory.appendingPathComponent("saslpasswd2").path
        try FileManager.default.createSymbolicLink(atPath: installed, withDestinationPath: TestSupport.sasldb)
        let database = directory.appendingPathComponent("sasldb2").path
        // Roundcube's chgsaslpasswd execs saslpasswd2 with argv[0] "chgsaslpasswd".
        let result = try TestSupport.run(
            "bash",
            ["-c", "exec -a chgsaslpasswd \"$0\" -p -f \"$1\" alice@example.org", installed, database],
            input: Data("from webmail\n".utf8)
        )
        XCTAssertEqual(result.status, 0, result.stderrText)
        let verify = try TestSupport.sasldb(
            ["verify", "-f", database, "--stdin", "alice@example.org"],
            input: "from webmail\n"
        )
        XCTAssertEqual(verify.stdoutText, "OK\n")
    }
}
