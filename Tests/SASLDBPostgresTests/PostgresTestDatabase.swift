import Foundation
import SASLDB
import ServerKitTestSupport
import XCTest

/// A database of its own on the test cluster of scripts/postgres-test-cluster.sh, found through
/// `SASLDB_TEST_POSTGRES_URL`; each test class makes its own so parallel workers never share tables.
struct PostgresTestDatabase {
    /// The cluster's administrator URL (the socket, trusted).
    let adminURL: String
    /// The new database's name.
    let name: String

    /// Creates a database named after `label`; skips the test when no cluster runs.
    init(_ label: String) throws {
        guard let url = ProcessInfo.processInfo.environment["SASLDB_TEST_POSTGRES_URL"] else {
            throw XCTSkip(
                "no test PostgreSQL: run eval \"$(scripts/postgres-test-cluster.sh start)\" (scripts/test.sh does)"
            )
        }
        adminURL = url
        name = "t_\(label.lowercased())_\(UInt32.random(in: 0...UInt32.max))"
        try psql("CREATE DATABASE \(name)", database: "postgres")
    }

    /// The administrator's location of this database.
    var location: PostgresLocation {
        get throws {
            var location = try PostgresLocation(url: adminURL)
            location.database = name
            return location
        }
    }

    /// The location as a URL.
    var url: String { get throws { try location.description } }

    /// Runs `sql` with psql on this database (or `database`) as the administrator (or `user`), failing the test on an
    /// error; returns the output.
    @discardableResult
    func psql(_ sql: String, database: String? = nil, user: String? = nil) throws -> String {
        let admin = try PostgresLocation(url: adminURL)
        let result = ProcessRunner.run(
            "/usr/bin/psql",
            [
                "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", admin.socketDirectory, "-p", String(admin.port),
                "-U", user ?? admin.user, "-d", database ?? (name.isEmpty ? admin.database : name), "-c", sql,
            ],
            timeout: 30
        )
        guard result.status == 0 else {
            throw SASLDBError.backend(path: "psql", detail: result.standardError)
        }
        return result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Drops the database.
    func drop() {
        _ = try? psql("DROP DATABASE IF EXISTS \(name) WITH (FORCE)", database: "postgres")
    }
}
