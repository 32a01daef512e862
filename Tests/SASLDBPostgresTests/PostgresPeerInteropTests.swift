import Foundation
import SASLDB
import SASLDBPostgres
import ServerKitTestSupport
import XCTest

/// The peers of Docs/postgresql.md on the same table, configured from the guide's own blocks: Cyrus's `sql` auxprop
/// plugin (Debian's libsasl2-modules-sql, through `sasl-sample-server` and `saslpasswd2`) and Dovecot's SQL passdb
/// (`dovecot-pgsql`, through `doveadm auth test`).
final class PostgresPeerInteropTests: XCTestCase {
    private(set) var database: PostgresTestDatabase!
    private(set) var directory: URL!
    private var store: CredentialStore!
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    override func setUpWithError() throws {
        database = try PostgresTestDatabase("peers")
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("pgpeer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path)
        let backend = try XCTUnwrap(
            PostgresBackendProvider(mode: .pooled).makeBackend(try database.location) as? any ServerBackend
        )
        _ = try backend.initializeSchema()
        var policy = SecretPolicy.cyrusDefault
        policy.scram = .sha256
        store = CredentialStore(backend: backend, policy: policy)
    }

    override func tearDown() {
        database?.drop()
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    /// The lines of the guide's block `name`.
    func guideBlock(_ name: String) throws -> [String] {
        let text = try String(contentsOf: Self.root.appendingPathComponent("Docs/postgresql.md"), encoding: .utf8)
        let lines = text.components(separatedBy: "\n")
        let marker = try XCTUnwrap(lines.firstIndex(of: "<!-- guide-test: \(name) -->"), "the guide lost block \(name)")
        let body = lines[(marker + 2)...].prefix { $0 != "```" }
        return Array(body)
    }

    /// The guide's Cyrus settings, pointed at the test database (the socket, the administrator role) or `location`.
    func cyrusSettings(_ location: PostgresLocation? = nil) throws -> [String: String] {
        let location = try location ?? database.location
        var settings: [String: String] = [:]
        for line in try guideBlock("cyrus-sql") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            settings[String(line[..<colon])] = String(line[line.index(after: colon)...]).trimmingCharacters(
                in: .whitespaces
            )
        }
        settings["sql_hostnames"] = "\(location.socketDirectory):\(location.port)"
        settings["sql_user"] = location.user
        settings["sql_passwd"] = "unused"
        settings["sql_database"] = location.database
        return settings
    }

    func cyrusAuthenticates(
        _ user: String,
        _ password: String,
        mechanism: String,
        as location: PostgresLocation? = nil
    ) throws -> Bool {
        try PeerTools.require("python3", "stdbuf", "sasl-sample-server")
        let dummy = directory.appendingPathComponent("unused-sasldb2")
        FileManager.default.createFile(atPath: dummy.path, contents: nil)
        var arguments = [
            Self.root.appendingPathComponent("Tests/Interop/cyrus-auth.py").path, "--db", dummy.path, "--mech",
            mechanism,
            "--user", user, "--realm", "example.org", "--password", password,
        ]
        for (key, value) in try cyrusSettings(location) where key != "pwcheck_method" {
            arguments += ["--conf", "\(key)=\(value)"]
        }
        let result = ProcessRunner.run("/usr/bin/python3", arguments, timeout: 60)
        XCTAssertNotEqual(
            result.status,
            2,
            "the Cyrus harness could not run: \(result.standardOutput) \(result.standardError)"
        )
        return result.status == 0
    }

    func testCyrusSQLPluginAuthenticatesUsersWeWrote() throws {
        let alice = try UserID(parsing: "alice@example.org", defaultRealm: "")
        try store.setPassword(Array("wonderland".utf8), for: alice)
        let scramOnly = CredentialStore(backend: store.backend, policy: .noPlaintext)
        let bob = try UserID(parsing: "bob@example.org", defaultRealm: "")
        try scramOnly.setPassword(Array("builder".utf8), for: bob)
        for mechanism in ["PLAIN", "CRAM-MD5", "DIGEST-MD5", "SCRAM-SHA-256"] {
            XCTAssertTrue(try cyrusAuthenticates("alice", "wonderland", mechanism: mechanism), mechanism)
            XCTAssertFalse(try cyrusAuthenticates("alice", "wrong", mechanism: mechanism), mechanism)
        }
        XCTAssertTrue(try cyrusAuthenticates("bob", "builder", mechanism: "SCRAM-SHA-256"))
        XCTAssertFalse(try cyrusAuthenticates("bob", "wrong", mechanism: "SCRAM-SHA-256"))
    }

    func testUsersWrittenThroughCyrusAreReadByOurs() throws {
        try PeerTools.require("saslpasswd2")
        let configuration = directory.appendingPathComponent("saslpasswd.conf")
        let lines = try cyrusSettings().map { "\($0.key): \($0.value)" }.sorted()
        try (lines.joined(separator: "\n") + "\n").write(to: configuration, atomically: true, encoding: .utf8)
        let environment = ["SASL_CONF_PATH": directory.path]
        let add = ProcessRunner.run(
            "/usr/sbin/saslpasswd2",
            ["-p", "-c", "-u", "example.org", "carol"],
            input: Data("c4rol".utf8),
            environment: environment,
            timeout: 30
        )
        XCTAssertEqual(add.status, 0, add.standardError)
        let carol = try UserID(parsing: "carol@example.org", defaultRealm: "")
        XCTAssertTrue(try store.verify(password: Array("c4rol".utf8), for: carol))
        // Cyrus changes a password with its (never matching) probe, then sql_insert: the upsert replaces the value.
        let change = ProcessRunner.run(
            "/usr/sbin/saslpasswd2",
            ["-p", "-u", "example.org", "carol"],
            input: Data("n3w".utf8),
            environment: environment,
            timeout: 30
        )
        XCTAssertEqual(change.status, 0, change.standardError)
        XCTAssertTrue(try store.verify(password: Array("n3w".utf8), for: carol))
        // And deletes by writing the text NULL, which the store function turns into a delete.
        let delete = ProcessRunner.run(
            "/usr/sbin/saslpasswd2",
            ["-d", "-u", "example.org", "carol"],
            environment: environment,
            timeout: 30
        )
        XCTAssertEqual(delete.status, 0, delete.standardError)
        XCTAssertFalse(try store.exists(carol))
    }

    func testDovecotAuthenticatesUsersWeWrote() throws {
        try PeerTools.require("dovecot", "doveadm")
        let dovecot = try DovecotInstance(directory: directory, sql: try dovecotSQL())
        defer { dovecot.stop() }
        let alice = try UserID(parsing: "alice@example.org", defaultRealm: "")
        try store.setPassword(Array("wonderland".utf8), for: alice)
        let bob = try UserID(parsing: "bob@example.org", defaultRealm: "")
        try CredentialStore(backend: store.backend, policy: .noPlaintext).setPassword(Array("builder".utf8), for: bob)
        XCTAssertTrue(dovecot.authenticates("alice@example.org", "wonderland"))
        XCTAssertFalse(dovecot.authenticates("alice@example.org", "wrong"))
        XCTAssertTrue(dovecot.authenticates("bob@example.org", "builder"))
        XCTAssertFalse(dovecot.authenticates("bob@example.org", "wrong"))
        XCTAssertFalse(dovecot.authenticates("nobody@example.org", "builder"))
        // A change through us is what Dovecot checks next: it caches nothing by default.
        try store.setPassword(Array("changed".utf8), for: alice)
        XCTAssertTrue(dovecot.authenticates("alice@example.org", "changed"))
        XCTAssertFalse(dovecot.authenticates("alice@example.org", "wonderland"))
    }

    /// The guide's Dovecot SQL settings, connecting to the test database (or `location`).
    func dovecotSQL(_ location: PostgresLocation? = nil) throws -> String {
        let location = try location ?? database.location
        return try guideBlock("dovecot-sql").map { line in
            line.hasPrefix("connect =")
                ? "connect = host=\(location.socketDirectory) port=\(location.port) dbname=\(location.database) "
                    + "user=\(location.user)"
                : line
        }.joined(separator: "\n") + "\n"
    }
}

extension PostgresPeerInteropTests {
    func testTheGuidesSiteSettingsNameThePostgreSQLStore() throws {
        let text = try guideBlock("site-url").joined(separator: "\n")
        let site = try SiteConfiguration(parsing: Array(text.utf8), source: "guide", knownKeys: [])
        let configuration = try StoreConfiguration(site: site)
        guard case .postgres(let location) = configuration.location else { return XCTFail("\(configuration.location)") }
        XCTAssertEqual(location.host, "db.example.org")
        XCTAssertEqual(location.user, "sasldb_admin")
        XCTAssertEqual(location.tls, .verifyFull)
        XCTAssertEqual(location.passwordFile, "/etc/sasl2/sasldb.pgpass")
        XCTAssertEqual(location.poolSize, 8)
    }
}
