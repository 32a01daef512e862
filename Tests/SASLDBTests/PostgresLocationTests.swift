import SASLDB
import XCTest

/// The PostgreSQL location as plain data: URLs, site keys, and a specific error for each bad input.
final class PostgresLocationTests: XCTestCase {
    func testAURLWithEverySettingRoundTrips() throws {
        let url =
            "postgresql://mta%40x@db.example.org:6543/creds?sslmode=verify-ca&sslrootcert=/etc/ssl/db.pem"
            + "&password_file=/etc/sasldb/pw&pool_size=4&query_timeout=3"
        let location = try PostgresLocation(url: url)
        XCTAssertEqual(location.user, "mta@x")
        XCTAssertEqual(location.host, "db.example.org")
        XCTAssertEqual(location.port, 6543)
        XCTAssertEqual(location.database, "creds")
        XCTAssertEqual(location.tls, .verifyCA)
        XCTAssertEqual(location.caFile, "/etc/ssl/db.pem")
        XCTAssertEqual(location.passwordFile, "/etc/sasldb/pw")
        XCTAssertEqual(location.poolSize, 4)
        XCTAssertEqual(location.queryTimeoutMilliseconds, 3000)
        XCTAssertEqual(try PostgresLocation(url: location.description), location)
    }

    func testSocketDirectoryWithATLSModeReadsBackAsTheSameLocation() throws {
        // Found by FuzzPostgresLocation: the TLS settings of a socket-directory location were not printed.
        let location = try PostgresLocation(
            url: "postgresql://mta@:6543/sasldb?host=/run/postgresql&sslmode=verify-ca&sslrootcert=/etc/ssl/db.pem"
        )
        XCTAssertEqual(try PostgresLocation(url: location.description), location)
    }

    func testASocketDirectoryIsTheHostParameter() throws {
        let location = try PostgresLocation(url: "postgresql:///sasldb?host=/run/postgresql")
        XCTAssertNil(location.host)
        XCTAssertEqual(location.socketDirectory, "/run/postgresql")
        XCTAssertEqual(location.tls, .verifyFull)
        XCTAssertEqual(try PostgresLocation(url: location.description), location)
        XCTAssertEqual(try PostgresLocation(url: "postgres://[::1]:5433/x").host, "::1")
    }

    func testEachBadURLHasItsOwnSentence() {
        let cases: [(String, String)] = [
            ("mysql://a@b/c", "expected postgresql://"),
            ("postgresql://u:secret@h/db", "holds a password"),
            ("postgresql://u@h:0/db", "port must be a number from 1 to 65535"),
            ("postgresql://u@h/db?sslmode=maybe", "sslmode must be one of disable, require, verify-ca, verify-full"),
            ("postgresql://u@h/db?pool_size=0", "pool_size must be a number"),
            ("postgresql://u@h/db?colour=blue", "unknown setting colour"),
            ("postgresql://u@h/db?password_file=relative", "must be an absolute path"),
            ("postgresql://u@h/d%zz", "a broken %-escape"),
        ]
        for (url, expected) in cases {
            XCTAssertThrowsError(try PostgresLocation(url: url), url) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(url): \(error)")
            }
        }
    }

    func testTheSiteFileNamesAPostgreSQLStoreByURLOrKeys() throws {
        func configuration(_ text: String) throws -> StoreConfiguration {
            try StoreConfiguration(
                site: try SiteConfiguration(parsing: Array(text.utf8), source: "site.conf", knownKeys: [])
            )
        }
        let byURL = try configuration(
            "postgres_url: postgresql://mta@db/creds?sslmode=require\npostgres_pool_size: 2\n"
        )
        guard case .postgres(let location) = byURL.location else { return XCTFail("\(byURL.location)") }
        XCTAssertEqual(location.host, "db")
        XCTAssertEqual(location.poolSize, 2)
        XCTAssertEqual(location.tls, .require)
        XCTAssertEqual(byURL.origins[.location], "site.conf:1")
        let byKeys = try configuration("postgres_host: /run/postgresql\npostgres_database: creds\n")
        XCTAssertEqual(
            byKeys.location,
            .postgres(try PostgresLocation(url: "postgresql:///creds?host=/run/postgresql"))
        )
        let byPath = try configuration("sasldb_path: postgresql://mta@db/creds\n")
        XCTAssertEqual(byPath.location, .postgres(try PostgresLocation(url: "postgresql://mta@db/creds")))
        XCTAssertThrowsError(try configuration("sasldb_path: /etc/sasldb2\npostgres_host: db\n")) { error in
            XCTAssertEqual("\(error)", "site.conf:2: postgres_host: sasldb_path names a file; remove one of the two")
        }
        XCTAssertThrowsError(try configuration("postgres_port: 99999\n")) { error in
            XCTAssertEqual("\(error)", "site.conf:1: postgres_port: port must be a number from 1 to 65535, not 99999")
        }
    }

    func testWithoutAProviderAPostgreSQLStoreSaysThisProgramLacksIt() throws {
        var configuration = StoreConfiguration()
        configuration.location = .postgres(PostgresLocation())
        XCTAssertThrowsError(try StoreFactory.makeBackend(configuration).records()) { error in
            XCTAssertTrue("\(error)".contains("built without PostgreSQL"), "\(error)")
        }
    }
}
