import Foundation
import SASLDB
import ServerKitTestSupport
import XCTest

/// The `sasldb` tool on a PostgreSQL store, through its `sasldb-postgres` helper: db init, add, list, verify,
/// import, export and convert in both directions, and the exit code and sentence of each bad input.
final class PostgresCommandLineTests: XCTestCase {
    private var database: PostgresTestDatabase!
    private var sasldb = ""
    private var directory: URL!

    override func setUpWithError() throws {
        database = try PostgresTestDatabase("cli")
        sasldb = try builtExecutable("sasldb", override: "SASLDB_BINARY")
        _ = try builtExecutable("sasldb-postgres", override: "SASLDB_POSTGRES_HELPER")
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("pgcli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
    }

    override func tearDown() {
        database?.drop()
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    /// Runs the tool with an empty site configuration, so only the arguments choose the store.
    private func run(_ arguments: [String], input: String = "") -> ProcessRunner.Result {
        let site = directory.appendingPathComponent("site.conf").path
        FileManager.default.createFile(atPath: site, contents: nil)
        return ProcessRunner.run(
            sasldb,
            arguments,
            input: Data(input.utf8),
            environment: ["SASLDB_CONFIG": site, "SASLDB_PATH": directory.appendingPathComponent("unused").path],
            timeout: 60
        )
    }

    @discardableResult
    private func succeed(_ arguments: [String], input: String = "") throws -> ProcessRunner.Result {
        let result = run(arguments, input: input)
        XCTAssertEqual(result.status, 0, "\(arguments): \(result.standardError)")
        return result
    }

    func testInitAddListVerifyAndConvertBothWays() throws {
        let url = try database.url
        XCTAssertTrue(
            try succeed(["db", "init", "-f", url]).standardError.contains("created the sasldb tables (version 1)")
        )
        XCTAssertTrue(try succeed(["db", "init", "-f", url]).standardError.contains("current (version 1)"))
        try succeed(["add", "-f", url, "--stdin", "alice@example.org"], input: "wonderland\n")
        try succeed(["import", "-f", url], input: "bob@example.org:builder\ncarol@example.org:c4rol\n")
        let listed = try succeed(["list", "-f", url]).standardOutput
        for name in ["alice@example.org", "bob@example.org", "carol@example.org"] {
            XCTAssertTrue(listed.contains(name), listed)
        }
        try succeed(["verify", "-f", url, "--stdin", "bob@example.org"], input: "builder\n")
        XCTAssertNotEqual(run(["verify", "-f", url, "--stdin", "bob@example.org"], input: "nope\n").status, 0)

        // Out to a file, as Cyrus's tools read it, and back into a second, empty database.
        let file = directory.appendingPathComponent("sasldb2").path
        try succeed(["convert", "--to", "bdb", url, file])
        XCTAssertEqual(try succeed(["list", "-f", file]).standardOutput, listed)
        let second = try PostgresTestDatabase("cli2")
        defer { second.drop() }
        try succeed(["db", "init", "-f", try second.url])
        try succeed(["convert", file, try second.url])
        XCTAssertEqual(
            try succeed(["export", "-f", try second.url]).standardOutput,
            try succeed(["export", "-f", url]).standardOutput
        )
        let again = run(["convert", file, try second.url])
        XCTAssertEqual(again.status, 65, again.standardError)
        XCTAssertTrue(again.standardError.contains("already holds records"), again.standardError)
    }

    func testEachBadInputHasItsOwnExitCodeAndSentence() throws {
        let url = try database.url
        let badURL = run(["list", "-f", "postgresql://u:pw@localhost/x"])
        XCTAssertEqual(badURL.status, 64, badURL.standardError)
        XCTAssertTrue(badURL.standardError.contains("password_file"), badURL.standardError)

        let noTables = run(["list", "-f", url])
        XCTAssertEqual(noTables.status, 78, noTables.standardError)
        XCTAssertTrue(
            noTables.standardError.contains("run sasldb db init")
                || noTables.standardError.contains("with sasldb db init"),
            noTables.standardError
        )

        try succeed(["db", "init", "-f", url])
        try database.psql("UPDATE sasldb_version SET version = 7")
        let newer = run(["list", "-f", url])
        XCTAssertEqual(newer.status, 78, newer.standardError)
        XCTAssertTrue(newer.standardError.contains("version 7, newer than this program's 1"), newer.standardError)
        try database.psql("UPDATE sasldb_version SET version = 1")

        let key = RecordKey(authid: Array("alice".utf8), realm: Array("example.org".utf8), property: Array("note".utf8))
        let long = DumpFormat.encode([Record(key: key, value: [UInt8](repeating: 0x78, count: 70_000))])
        let dump = run(["import", "-f", url], input: String(decoding: long, as: UTF8.self))
        XCTAssertEqual(dump.status, 65, dump.standardError)
        XCTAssertTrue(dump.standardError.contains("a PostgreSQL store holds at most 65536"), dump.standardError)

        let down = run(["list", "-f", "postgresql://nobody@:1/x?host=\(directory.path)&query_timeout=2"])
        XCTAssertEqual(down.status, 75, down.standardError)
        XCTAssertTrue(down.standardError.contains("unavailable"), down.standardError)
    }
}
