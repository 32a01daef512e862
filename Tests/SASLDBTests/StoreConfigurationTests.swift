import Foundation
import SASLDB
import XCTest

/// The site file and the store configuration every entry point builds its store from.
final class StoreConfigurationTests: XCTestCase {
    private func site(_ text: String, knownKeys: Set<String> = ["passwd_socket"]) throws -> SiteConfiguration {
        try SiteConfiguration(parsing: Array(text.utf8), source: "/etc/sasl2/sasldb.conf", knownKeys: knownKeys)
    }

    private func parseError(_ text: String) -> SiteConfigurationError? {
        do {
            _ = try StoreConfiguration(site: try site(text))
            return nil
        } catch {
            return error as? SiteConfigurationError
        }
    }

    func testSettingsAndWhereEachCameFrom() throws {
        let file = try site(
            """
            # the site
            sasldb_path: /var/lib/sasldb/sasldb2
            database_format: gdbm

            secrets: cram-md5, scram-sha-256
            scram_iteration_counter: 10000
            default_realm: example.org
            passwd_socket: /run/x.sock
            """
        )
        let store = try StoreConfiguration(site: file)
        XCTAssertEqual(store.location, .file(path: "/var/lib/sasldb/sasldb2"))
        XCTAssertEqual(store.newFileFormat, .gdbm)
        XCTAssertEqual(
            store.secretPolicy,
            SecretPolicy(plaintext: false, cramMD5: true, scram: .sha256, scramIterations: 10000)
        )
        XCTAssertEqual(store.realm(hostName: "host"), "example.org")
        XCTAssertEqual(
            store.report(hostName: "host"),
            [
                "sasldb_path = /var/lib/sasldb/sasldb2 (/etc/sasl2/sasldb.conf:2)",
                "database_format = gdbm (/etc/sasl2/sasldb.conf:3)",
                "secrets = cram-md5,scram-sha-256 (/etc/sasl2/sasldb.conf:5)",
                "scram_iteration_counter = 10000 (/etc/sasl2/sasldb.conf:6)",
                "default_realm = example.org (/etc/sasl2/sasldb.conf:7)",
            ]
        )
        XCTAssertEqual(file["passwd_socket"], "/run/x.sock")
    }

    func testDefaultsWithoutAFile() {
        let store = StoreConfiguration(newFileFormat: .berkeleyDB)
        XCTAssertEqual(store.filePath, "/etc/sasldb2")
        XCTAssertEqual(store.secretPolicy, .cyrusDefault)
        XCTAssertEqual(
            store.report(hostName: "mail.example.org"),
            [
                "sasldb_path = /etc/sasldb2 (default)", "database_format = bdb (default)",
                "secrets = plaintext (default)", "scram_iteration_counter = 4096 (default)",
                "default_realm = mail.example.org (host name)",
            ]
        )
    }

    func testNoPlaintextMeansEveryVerifier() throws {
        XCTAssertEqual(try StoreConfiguration(site: try site("no_plaintext: yes")).secretPolicy, .noPlaintext)
        XCTAssertEqual(try StoreConfiguration(site: try site("no_plaintext: off")).secretPolicy, .cyrusDefault)
    }

    func testErrorsNameFileAndLine() {
        let cases: [(String, String)] = [
            ("a: b\nno colon here\n", "/etc/sasl2/sasldb.conf:2: expected key: value, found no colon here"),
            ("no_plaintxt: yes", "/etc/sasl2/sasldb.conf:1: unknown key no_plaintxt"),
            (
                "default_realm: a\ndefault_realm: b",
                "/etc/sasl2/sasldb.conf:2: default_realm is set again (first on line 1)"
            ),
            ("\n\nno_plaintext: perhaps", "/etc/sasl2/sasldb.conf:3: no_plaintext: expected yes or no, not perhaps"),
            ("database_format: ndbm", "/etc/sasl2/sasldb.conf:1: database_format: expected gdbm or bdb, not ndbm"),
            ("secrets: md4", "/etc/sasl2/sasldb.conf:1: secrets: invalid value: unknown secret 'md4'"),
            (
                "secrets: scram-sha-1,scram-sha-256",
                "/etc/sasl2/sasldb.conf:1: secrets: invalid value: sasldb holds one"
            ),
            ("scram_iteration_counter: 100000", "/etc/sasl2/sasldb.conf:1: scram_iteration_counter: expected a number"),
            ("scram_iteration_counter: many", "/etc/sasl2/sasldb.conf:1: scram_iteration_counter: expected a number"),
        ]
        for (text, expected) in cases {
            let description = parseError(text)?.description ?? "no error"
            XCTAssertTrue(description.hasPrefix(expected), "\(text): \(description)")
        }
    }

    func testAFileThatIsNotTextIsRefused() {
        XCTAssertThrowsError(
            try SiteConfiguration(parsing: [0x61, 0x3a, 0xff, 0x0a], source: "x.conf", knownKeys: ["a"])
        ) { error in
            XCTAssertEqual((error as? SiteConfigurationError)?.line, 1)
        }
    }

    func testAMissingFileIsEmptyAndAnUnreadableOneIsAnError() throws {
        let missing = try SiteConfiguration(contentsOf: "/nonexistent/sasldb.conf", knownKeys: [])
        XCTAssertEqual(missing, SiteConfiguration())
        XCTAssertThrowsError(try SiteConfiguration(contentsOf: "/", knownKeys: [])) { error in
            XCTAssertTrue("\(error)".hasPrefix("/: cannot be read"), "\(error)")
        }
    }

    func testOverridesRecordTheirOrigin() throws {
        var store = try StoreConfiguration(site: try site("sasldb_path: /a"))
        store.override(.location, origin: "-f") { $0.location = .file(path: "/b") }
        XCTAssertEqual(store.report(hostName: "h").first, "sasldb_path = /b (-f)")
    }

    func testTheFactoryBuildsTheConfiguredFileWithThePolicy() throws {
        let directory = NSTemporaryDirectory() + "factory-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for format in DatabaseFormat.allCases {
            var configuration = StoreConfiguration.file(directory + "/\(format.name)")
            configuration.newFileFormat = format
            configuration.secretPolicy = .noPlaintext
            let store = StoreFactory.makeStore(configuration)
            XCTAssertEqual(store.policy, .noPlaintext)
            let alice = try UserID(parsing: "alice@example.org", defaultRealm: "x")
            try store.setPassword(Array("pw".utf8), for: alice)
            let backend = try XCTUnwrap(store.backend as? FileBackend)
            XCTAssertEqual(try backend.existingFormat(), format)
            XCTAssertNil(try store.secrets(of: alice).plaintext)
            XCTAssertTrue(try store.verify(password: Array("pw".utf8), for: alice))
        }
    }

    /// Every store of the programs comes from the factory: no other source file constructs a file backend.
    func testNoSourceOutsideTheFactoryConstructsAFileBackend() throws {
        try assertConstructedOnlyIn("FileBackend(", ["Sources/SASLDB/Configuration/StoreFactory.swift"])
    }

    /// PostgreSQL backends come from their providers only, which the factory calls: no program builds one itself.
    func testNoSourceOutsideTheProvidersConstructsAPostgreSQLBackend() throws {
        try assertConstructedOnlyIn("PostgresBackend(", ["Sources/SASLDBPostgres/PostgresBackendProvider.swift"])
        try assertConstructedOnlyIn("HelperBackend(", ["Sources/SASLDB/Store/HelperBackendProvider.swift"])
    }

    private func assertConstructedOnlyIn(_ construction: String, _ allowed: Set<String>) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        var offenders: [String] = []
        var scanned = 0
        for folder in ["Sources", "Benchmarks", "Examples"] {
            let base = root.appendingPathComponent(folder)
            guard let files = FileManager.default.enumerator(atPath: base.path) else { continue }
            for case let file as String in files where file.hasSuffix(".swift") {
                let relative = folder + "/" + file
                let text = try String(contentsOf: base.appendingPathComponent(file), encoding: .utf8)
                scanned += 1
                if text.contains(construction) && !allowed.contains(relative) { offenders.append(relative) }
            }
        }
        XCTAssertGreaterThan(scanned, 100, "the source tree was not found from \(root.path)")
        XCTAssertEqual(offenders, [], "construct stores with StoreFactory")
    }
}
