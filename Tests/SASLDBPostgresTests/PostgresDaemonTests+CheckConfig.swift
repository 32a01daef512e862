import Foundation
import SASLDB
import SASLDBPostgres
import ServerKitTestSupport
import XCTest

/// `sasl-smtpd --check-config` on a PostgreSQL store: it connects and checks the tables, each fault a sentence.
extension PostgresDaemonTests {
    func testCheckConfigConnectsAndChecksTheTables() throws {
        let database = try PostgresTestDatabase("checkconfig")
        defer { database.drop() }
        let site = directory.appendingPathComponent("site.conf").path
        FileManager.default.createFile(atPath: site, contents: nil)
        // The daemon's user must be able to write the spool, or the check fails for that instead.
        let spool = directory.appendingPathComponent("Maildir")
        try FileManager.default.createDirectory(at: spool, withIntermediateDirectories: false)
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: spool.path)
        func check(_ sasldbPath: String) throws -> ProcessRunner.Result {
            let file = directory.appendingPathComponent("check.conf")
            try SMTPDaemon.configuration(url: sasldbPath, in: directory).write(
                to: file,
                atomically: true,
                encoding: .utf8
            )
            let started = Date()
            let result = ProcessRunner.run(
                smtpd,
                ["--check-config", "--config", file.path],
                environment: ["SASLDB_CONFIG": site],
                timeout: 60
            )
            // Bounded by two query timeouts (2 s each below) and start-up.
            XCTAssertLessThan(Date().timeIntervalSince(started), 15, sasldbPath)
            return result
        }
        var location = try database.location
        location.queryTimeoutMilliseconds = 2000

        let noTables = try check(location.description)
        XCTAssertEqual(noTables.status, 1, noTables.standardError)
        XCTAssertTrue(noTables.standardError.contains("sasldb db init"), noTables.standardError)

        var stranger = location
        stranger.user = "no_such_role"
        let refused = try check(stranger.description)
        XCTAssertEqual(refused.status, 1, refused.standardError)
        XCTAssertTrue(refused.standardError.contains("no_such_role"), refused.standardError)

        let nowhere = try check("postgresql://nobody@:1/x?host=\(directory.path)&query_timeout=2")
        XCTAssertEqual(nowhere.status, 1, nowhere.standardError)
        XCTAssertTrue(nowhere.standardError.contains("unavailable"), nowhere.standardError)

        _ = try XCTUnwrap(PostgresBackendProvider(mode: .single).makeBackend(location) as? any ServerBackend)
            .initializeSchema()
        let good = try check(location.description)
        XCTAssertEqual(good.status, 0, good.standardError)
        XCTAssertTrue(good.standardError.contains("configuration OK"), good.standardError)

        try database.psql("UPDATE sasldb_version SET version = 7")
        let newer = try check(location.description)
        XCTAssertEqual(newer.status, 1, newer.standardError)
        XCTAssertTrue(newer.standardError.contains("version 7"), newer.standardError)
    }
}
