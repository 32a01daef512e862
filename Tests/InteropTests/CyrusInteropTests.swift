import Foundation
import XCTest

/// Files we write, checked by Cyrus itself: Debian's sasldblistusers2 and libsasl2 through sasl-sample-server.
final class CyrusInteropTests: XCTestCase {
    private var directory: URL!
    private var database: String { directory.appendingPathComponent("sasldb2").path }

    override func setUpWithError() throws {
        try TestSupport.require(
            "saslpasswd2",
            "sasldblistusers2",
            "sasl-sample-server",
            "sasl-sample-client",
            "python3"
        )
        directory = try TestSupport.temporaryDirectory(for: self)
    }

    private var harness: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Interop/cyrus-auth.py").path
    }

    /// Whether Cyrus's server accepts `password` for `user` in `realm` with `mechanism`.
    private func cyrusAccepts(_ mechanism: String, _ user: String, _ realm: String, _ password: String) throws -> Bool {
        let result = try TestSupport.run(
            "python3",
            [
                harness, "--db", database, "--mech", mechanism, "--user", user, "--realm", realm,
                "--password=\(password)",
            ],
            timeout: 40
        )
        XCTAssertNotEqual(result.status, 2, "harness error: \(result.stdoutText)\(result.stderrText)")
        return result.status == 0
    }

    private func add(_ user: String, _ password: String, _ extra: [String] = []) throws {
        let result = try TestSupport.sasldb(
            ["add", "-f", database, "--format", "bdb", "--stdin"] + extra + [user],
            input: password + "\n"
        )
        XCTAssertEqual(result.status, 0, result.stderrText)
    }

    func testSasldblistusers2ListsUsersWeWrote() throws {
        try add("alice@Example.COM", "secret")
        try add("bob@mail.example.org", "pässwörd", ["--no-plaintext"])
        let listed = try TestSupport.run("sasldblistusers2", ["-f", database])
        XCTAssertEqual(listed.status, 0)
        XCTAssertEqual(listed.stderrText, "")
        XCTAssertEqual(
            Set(listed.stdoutText.split(separator: "\n")),
            [
                "alice@Example.COM: userPassword", "bob@mail.example.org: cmusaslsecretCRAM-MD5",
                "bob@mail.example.org: cmusaslsecretDIGEST-MD5", "bob@mail.example.org: authPassword",
            ]
        )
    }

    func testCyrusLibraryAuthenticatesOurPlaintextUsersWithEveryMechanism() throws {
        try add("alice@Example.COM", "secret")
        for mechanism in ["PLAIN", "CRAM-MD5", "DIGEST-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256"] {
            XCTAssertTrue(try cyrusAccepts(mechanism, "alice", "Example.COM", "secret"), mechanism)
            XCTAssertFalse(try cyrusAccepts(mechanism, "alice", "Example.COM", "secretX"), mechanism)
        }
    }

    func testCyrusLibraryAuthenticatesFromEachVerifierAlone() throws {
        let cases = [
            ("cram-md5", "CRAM-MD5"), ("digest-md5", "DIGEST-MD5"), ("scram-sha-1", "SCRAM-SHA-1"),
            ("scram-sha-256", "SCRAM-SHA-256"),
        ]
        for (secret, mechanism) in cases {
            try add("bob@mail.example.org", "pässwörd", ["--secrets", secret])
            XCTAssertTrue(try cyrusAccepts(mechanism, "bob", "mail.example.org", "pässwörd"), mechanism)
            XCTAssertFalse(try cyrusAccepts(mechanism, "bob", "mail.example.org", "passwörd"), mechanism)
        }
    }

    func testNoPlaintextUserWorksWithTheChallengeResponseMechanisms() throws {
        try add("carol@EXAMPLE.ORG", "€uro-Ключ", ["--no-plaintext"])
        for mechanism in ["CRAM-MD5", "DIGEST-MD5", "SCRAM-SHA-256"] {
            XCTAssertTrue(try cyrusAccepts(mechanism, "carol", "EXAMPLE.ORG", "€uro-Ключ"), mechanism)
        }
        XCTAssertFalse(
            try cyrusAccepts("PLAIN", "carol", "EXAMPLE.ORG", "€uro-Ключ"),
            "PLAIN needs the plaintext in Cyrus"
        )
    }

    func testFilesWrittenByDebianSaslpasswd2AreReadVerifiedAndUpdated() throws {
        let made = try TestSupport.run(
            "saslpasswd2",
            ["-f", database, "-p", "-c", "-u", "Example.COM", "alice"],
            input: Data("from-cyrus\n".utf8),
            environment: ["SASL_CONF_PATH": directory.path]
        )
        XCTAssertEqual(made.status, 0, made.stderrText)
        let verified = try TestSupport.sasldb(
            ["verify", "-f", database, "--stdin", "alice@Example.COM"],
            input: "from-cyrus\n"
        )
        XCTAssertEqual(verified.stdoutText, "OK\n")
        let listed = try TestSupport.sasldb(["list", "-f", database, "--json"])
        XCTAssertTrue(listed.stdoutText.contains("\"user\": \"alice@Example.COM\""), listed.stdoutText)
        try add("alice@Example.COM", "from-us", ["--secrets", "plain,cram-md5,digest-md5"])
        XCTAssertTrue(try cyrusAccepts("CRAM-MD5", "alice", "Example.COM", "from-us"))
        XCTAssertFalse(try cyrusAccepts("CRAM-MD5", "alice", "Example.COM", "from-cyrus"))
        let cyrusView = try TestSupport.run("sasldblistusers2", ["-f", database])
        XCTAssertEqual(
            Set(cyrusView.stdoutText.split(separator: "\n")),
            [
                "alice@Example.COM: userPassword", "alice@Example.COM: cmusaslsecretCRAM-MD5",
                "alice@Example.COM: cmusaslsecretDIGEST-MD5",
            ]
        )
    }

    func testDebianSaslpasswd2CanStillWriteAFileWeWrote() throws {
        try add("alice@Example.COM", "ours")
        let updated = try TestSupport.run(
            "saslpasswd2",
            ["-f", database, "-p", "-u", "Example.COM", "alice"],
            input: Data("theirs\n".utf8),
            environment: ["SASL_CONF_PATH": directory.path]
        )
        XCTAssertEqual(updated.status, 0, updated.stderrText)
        let verified = try TestSupport.sasldb(
            ["verify", "-f", database, "--stdin", "alice@Example.COM"],
            input: "theirs\n"
        )
        XCTAssertEqual(verified.stdoutText, "OK\n")
    }

    func testDisabledUserIsRefusedByCyrusAndEnabledAgain() throws {
        try add("alice@Example.COM", "secret")
        XCTAssertEqual(try TestSupport.sasldb(["disable", "-f", database, "alice@Example.COM"]).status, 0)
        XCTAssertFalse(try cyrusAccepts("PLAIN", "alice", "Example.COM", "secret"))
        XCTAssertEqual(try TestSupport.sasldb(["enable", "-f", database, "alice@Example.COM"]).status, 0)
        XCTAssertTrue(try cyrusAccepts("PLAIN", "alice", "Example.COM", "secret"))
    }

    func testConvertedFileKeepsEveryPropertyBothWays() throws {
        try add("alice@Example.COM", "secret", ["--secrets", "plain,cram-md5,digest-md5,scram-sha-1"])
        let gdbm = directory.appendingPathComponent("sasldb2.gdbm").path
        let back = directory.appendingPathComponent("sasldb2.back").path
        XCTAssertEqual(try TestSupport.sasldb(["convert", "--to", "gdbm", database, gdbm]).status, 0)
        XCTAssertEqual(try TestSupport.sasldb(["convert", "--to", "bdb", gdbm, back]).status, 0)
        let original = try TestSupport.sasldb(["export", "-f", database]).stdoutText
        let converted = try TestSupport.sasldb(["export", "-f", gdbm]).stdoutText
        let returned = try TestSupport.sasldb(["export", "-f", back]).stdoutText
        XCTAssertEqual(Set(original.split(separator: "\n")), Set(converted.split(separator: "\n")))
        XCTAssertEqual(Set(original.split(separator: "\n")), Set(returned.split(separator: "\n")))
        let listed = try TestSupport.run("sasldblistusers2", ["-f", back])
        XCTAssertEqual(listed.stdoutText.split(separator: "\n").count, 4)
    }

    func testExportLoadsWithDb53LoadAndACyrusDumpImports() throws {
        try TestSupport.require("db5.3_load", "db5.3_dump")
        try add("alice@Example.COM", "secret", ["--secrets", "plain,cram-md5"])
        let dump = directory.appendingPathComponent("dump.txt")
        XCTAssertEqual(try TestSupport.sasldb(["export", "-f", database, "-o", dump.path]).status, 0)
        let loaded = directory.appendingPathComponent("loaded.db").path
        let load = try TestSupport.run("db5.3_load", ["-f", dump.path, loaded])
        XCTAssertEqual(load.status, 0, load.stderrText)
        let listed = try TestSupport.run("sasldblistusers2", ["-f", loaded])
        XCTAssertEqual(
            Set(listed.stdoutText.split(separator: "\n")),
            ["alice@Example.COM: userPassword", "alice@Example.COM: cmusaslsecretCRAM-MD5"]
        )
        let cyrusDump = try TestSupport.run("db5.3_dump", ["-p", loaded])
        let imported = directory.appendingPathComponent("imported.gdbm").path
        let result = try TestSupport.run(
            TestSupport.sasldb,
            ["import", "-f", imported, "-"],
            input: cyrusDump.stdout
        )
        XCTAssertEqual(result.status, 0, result.stderrText)
        let verified = try TestSupport.sasldb(
            ["verify", "-f", imported, "--stdin", "alice@Example.COM"],
            input: "secret\n"
        )
        XCTAssertEqual(verified.stdoutText, "OK\n")
    }
}
