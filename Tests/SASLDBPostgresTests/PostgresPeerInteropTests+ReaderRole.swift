import Foundation
import SASLDB
import SASLDBPostgres
import ServerKitTestSupport
import XCTest

/// The guide's two roles, made by its own SQL: Cyrus and Dovecot log users in through the read-only role, and a write
/// through it (ours, Cyrus's) is refused.
extension PostgresPeerInteropTests {
    func testTheGuidesReadOnlyRoleServesCyrusAndDovecotAndCannotWrite() throws {
        try PeerTools.require("sasl-sample-server", "saslpasswd2", "dovecot", "doveadm")
        let suffix = String(UInt32.random(in: 0...UInt32.max))
        let admin = "t_admin_\(suffix)"
        let reader = "t_reader_\(suffix)"
        let name = "t_guide_\(suffix)"
        // The guide's names, made unique: roles belong to the whole cluster, which other tests share.
        func named(_ line: String) -> String {
            line.replacingOccurrences(of: "sasldb_admin", with: admin)
                .replacingOccurrences(of: "sasldb_reader", with: reader)
                .replacingOccurrences(of: "DATABASE sasldb ", with: "DATABASE \(name) ")
                .replacingOccurrences(of: "-d sasldb ", with: "-d \(name) ")
                .replacingOccurrences(of: "'...'", with: "'guide-pw'")
        }
        defer {
            _ = try? database.psql("DROP DATABASE IF EXISTS \(name) WITH (FORCE)", database: "postgres")
            _ = try? database.psql("DROP ROLE IF EXISTS \(reader)", database: "postgres")
            _ = try? database.psql("DROP ROLE IF EXISTS \(admin)", database: "postgres")
        }
        for statement in try guideBlock("roles") where !statement.isEmpty {
            try database.psql(named(statement), database: "postgres")
        }
        var owner = try database.location
        owner.database = name
        owner.user = admin
        var readOnly = owner
        readOnly.user = reader

        // `sasldb db init` as the owner, then the guide's grant, run by the owner as it says.
        let sasldb = try builtExecutable("sasldb", override: "SASLDB_BINARY")
        let grantBlock = try guideBlock("reader-grant").map(named)
        XCTAssertEqual(grantBlock.first, "sasldb db init")
        let initialized = ProcessRunner.run(sasldb, ["db", "init", "-f", owner.description], timeout: 60)
        XCTAssertEqual(initialized.status, 0, initialized.standardError)
        let psql = try XCTUnwrap(grantBlock.first { $0.hasPrefix("psql ") })
        XCTAssertTrue(psql.contains("-U \(admin) -d \(name) "), psql)
        let grant = try XCTUnwrap(psql.split(separator: "'").dropFirst().first.map(String.init))
        try database.psql(grant, database: name, user: admin)

        var policy = SecretPolicy.cyrusDefault
        policy.scram = .sha256
        let ours = PostgresBackendProvider(mode: .single)
        let written = CredentialStore(backend: ours.makeBackend(owner), policy: policy)
        let alice = try UserID(parsing: "alice@example.org", defaultRealm: "")
        try written.setPassword(Array("wonderland".utf8), for: alice)
        let bob = try UserID(parsing: "bob@example.org", defaultRealm: "")
        try CredentialStore(backend: written.backend, policy: .noPlaintext).setPassword(Array("builder".utf8), for: bob)

        // Reading through the reader: Cyrus's sql plugin and Dovecot's SQL passdb, configured by the guide's blocks.
        for mechanism in ["PLAIN", "SCRAM-SHA-256"] {
            XCTAssertTrue(try cyrusAuthenticates("alice", "wonderland", mechanism: mechanism, as: readOnly), mechanism)
            XCTAssertFalse(try cyrusAuthenticates("alice", "wrong", mechanism: mechanism, as: readOnly), mechanism)
        }
        XCTAssertTrue(try cyrusAuthenticates("bob", "builder", mechanism: "SCRAM-SHA-256", as: readOnly))
        let dovecot = try DovecotInstance(directory: directory, sql: try dovecotSQL(readOnly))
        defer { dovecot.stop() }
        XCTAssertTrue(dovecot.authenticates("alice@example.org", "wonderland"))
        XCTAssertTrue(dovecot.authenticates("bob@example.org", "builder"))
        XCTAssertFalse(dovecot.authenticates("bob@example.org", "wrong"))

        // Writing through the reader: refused by the server, whoever tries; nothing changed.
        let rows = try database.psql("SELECT count(*) FROM sasldb", database: name)
        let reading = CredentialStore(backend: ours.makeBackend(readOnly), policy: policy)
        XCTAssertThrowsError(try reading.setPassword(Array("taken".utf8), for: alice)) { error in
            guard case SASLDBError.permissionDenied = error else { return XCTFail("\(error)") }
        }
        let added = ProcessRunner.run(
            sasldb,
            ["add", "--stdin", "-f", readOnly.description, "mallory@example.org"],
            input: Data("m4llory\n".utf8),
            timeout: 60
        )
        XCTAssertEqual(added.status, 77, added.standardError)
        let configuration = directory.appendingPathComponent("saslpasswd.conf")
        let lines = try cyrusSettings(readOnly).map { "\($0.key): \($0.value)" }.sorted()
        try (lines.joined(separator: "\n") + "\n").write(to: configuration, atomically: true, encoding: .utf8)
        let cyrusWrite = ProcessRunner.run(
            "/usr/sbin/saslpasswd2",
            ["-p", "-u", "example.org", "alice"],
            input: Data("taken".utf8),
            environment: ["SASL_CONF_PATH": directory.path],
            timeout: 30
        )
        XCTAssertNotEqual(cyrusWrite.status, 0, "saslpasswd2 wrote through the read-only role")
        XCTAssertTrue(try written.verify(password: Array("wonderland".utf8), for: alice))
        XCTAssertEqual(try database.psql("SELECT count(*) FROM sasldb", database: name), rows)
    }
}
