import Foundation
import XCTest

/// Each bad input gets a specific message and leaves the database byte for byte as it was.
final class BadInputTests: XCTestCase {
    private var directory: URL!
    private var database: URL!
    private var original = Data()

    override func setUpWithError() throws {
        directory = try TestSupport.temporaryDirectory(for: self)
        database = directory.appendingPathComponent("sasldb2")
        let made = try TestSupport.sasldb(
            ["add", "-f", database.path, "--stdin", "alice@example.org"],
            input: "secret\n"
        )
        XCTAssertEqual(made.status, 0, made.stderrText)
        original = try Data(contentsOf: database)
    }

    private func assertRefused(
        _ arguments: [String],
        input: String? = nil,
        status: Int32,
        message: String,
        file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        let result = try TestSupport.sasldb(arguments, input: input)
        XCTAssertEqual(result.status, status, result.stderrText, file: file, line: line)
        XCTAssertTrue(result.stderrText.contains(message), "stderr was: \(result.stderrText)", file: file, line: line)
        XCTAssertFalse(result.stderrText.contains("secret"), "a password leaked into a message", file: file, line: line)
        XCTAssertEqual(try Data(contentsOf: database), original, "the database changed", file: file, line: line)
    }

    func testEmptyNameIsRefused() throws {
        try assertRefused(
            ["add", "-f", database.path, "--stdin", ""],
            input: "pw\n",
            status: 65,
            message: "the name is empty"
        )
        try assertRefused(
            ["add", "-f", database.path, "--stdin", "@example.org"],
            input: "pw\n",
            status: 65,
            message: "the user part before the @ is empty"
        )
    }

    func testNameWithNULIsRefusedWithItsLineNumber() throws {
        let input = directory.appendingPathComponent("users.txt")
        try Data("bob@example.org:pw1\ncar\u{0}ol@example.org:pw2\n".utf8).write(to: input)
        try assertRefused(
            ["import", "-f", database.path, input.path],
            status: 65,
            message: "line 2: invalid user name: the name contains a NUL byte"
        )
    }

    func testImportWithABadLineWritesNothingOfTheBatch() throws {
        let input = directory.appendingPathComponent("users.txt")
        try Data("bob@example.org:pw1\ncarol@example.org:pw2\nno colon here\n".utf8).write(to: input)
        try assertRefused(
            ["import", "-f", database.path, input.path],
            status: 65,
            message: "line 3: expected user@realm:password"
        )
    }

    func testPasswordOverTheLimitIsRefused() throws {
        try assertRefused(
            ["add", "-f", database.path, "--stdin", "alice@example.org"],
            input: String(repeating: "A", count: 2049) + "\n",
            status: 65,
            message: "longer than 2048 bytes"
        )
    }

    func testEmptyPasswordIsRefused() throws {
        try assertRefused(
            ["add", "-f", database.path, "--stdin", "alice@example.org"],
            input: "\n",
            status: 65,
            message: "the password is empty"
        )
    }

    func testForeignSQLiteFileIsNamed() throws {
        original = Data("SQLite format 3\u{0}".utf8) + Data(repeating: 7, count: 8176)
        try original.write(to: database)
        try assertRefused(
            ["add", "-f", database.path, "--stdin", "bob@example.org"],
            input: "pw\n",
            status: 65,
            message: "not a sasldb database (it looks like"
        )
        try assertRefused(["list", "-f", database.path], status: 65, message: "SQLite")
    }

    func testTruncatedFileIsReportedAsDamaged() throws {
        original = original.prefix(100)
        try original.write(to: database)
        let result = try TestSupport.sasldb(["list", "-f", database.path])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderrText.contains(database.path), result.stderrText)
        try assertRefused(
            ["add", "-f", database.path, "--stdin", "bob@example.org"],
            input: "pw\n",
            status: result.status,
            message: database.path
        )
    }

    func testSymlinkIsRefusedWithTheFix() throws {
        let link = directory.appendingPathComponent("link")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: database)
        try assertRefused(
            ["add", "-f", link.path, "--stdin", "bob@example.org"],
            input: "pw\n",
            status: 78,
            message: "it is a symbolic link"
        )
    }

    func testWorldWritableFileIsRefusedWithTheFix() throws {
        XCTAssertEqual(chmod(database.path, 0o666), 0)
        try assertRefused(["list", "-f", database.path], status: 78, message: "chmod o-w")
        try assertRefused(
            ["add", "-f", database.path, "--stdin", "bob@example.org"],
            input: "pw\n",
            status: 78,
            message: "other users can write it"
        )
    }

    func testUnreadableFileSaysPermissionDenied() throws {
        try XCTSkipUnless(geteuid() == 0 && TestSupport.has("setpriv"), "needs root to run as another user")
        XCTAssertEqual(chmod(directory.path, 0o755), 0)
        let result = try TestSupport.run(
            "setpriv",
            ["--reuid=65534", "--regid=65534", "--clear-groups", TestSupport.sasldb, "list", "-f", database.path]
        )
        XCTAssertEqual(result.status, 77, result.stderrText)
        XCTAssertTrue(result.stderrText.contains("permission denied"), result.stderrText)
        XCTAssertEqual(try Data(contentsOf: database), original)
    }

    func testMissingFileIsNamed() throws {
        let missing = directory.appendingPathComponent("nope").path
        let result = try TestSupport.sasldb(["list", "-f", missing])
        XCTAssertEqual(result.status, 66)
        XCTAssertEqual(result.stderrText, "sasldb: \(missing): no such database file\n")
    }

    func testMissingDirectoryIsNamedOnWrite() throws {
        let result = try TestSupport.sasldb(
            ["add", "-f", directory.appendingPathComponent("no/such/db").path, "--stdin", "bob@x"],
            input: "pw\n"
        )
        XCTAssertEqual(result.status, 66, result.stderrText)
        XCTAssertTrue(result.stderrText.contains("no/such: no such database file"), result.stderrText)
    }

    func testDisableAndEnableOfAnUnknownUserAreRefusedWithEXNOUSER() throws {
        for command in ["disable", "enable"] {
            try assertRefused(
                [command, "-f", database.path, "bob@example.org"],
                status: 67,
                message: "sasldb: bob@example.org: no such user\n"
            )
        }
    }
}
