import Foundation
import XCTest

/// The audit records of password changes reach syslog (facility authpriv, ident `sasldb`), one line each with every
/// value escaped: read from a socket of the test's own standing in for /dev/log.
final class SyslogAuditTests: XCTestCase {
    private var directory: URL!
    private var database: String { directory.appendingPathComponent("sasldb2").path }
    private var environment: [String: String] {
        ["SASLDB_CONFIG": directory.appendingPathComponent("none.conf").path, "SASLDB_PATH": database]
    }

    override func setUpWithError() throws {
        try XCTSkipUnless(geteuid() == 0 && TestSupport.has("unshare"), "a private mount namespace needs root")
        directory = try TestSupport.temporaryDirectory(for: self)
        let added = try TestSupport.sasldb(
            ["add", "--stdin", "alice@example.org"],
            input: "Quartz-river-1\n",
            environment: environment
        )
        XCTAssertEqual(added.status, 0, added.stderrText)
    }

    private func run(_ arguments: [String], input: String, capture: SyslogCapture) throws -> CommandResult {
        try TestSupport.run(
            "unshare",
            capture.isolatedCommand(TestSupport.sasldb, arguments),
            input: Data(input.utf8),
            environment: environment
        )
    }

    func testAChangeAndARefusalAreLoggedToAuthpriv() throws {
        let capture = try SyslogCapture(in: directory.appendingPathComponent("syslog"))
        let changed = try run(
            ["passwd", "--stdin", "alice@example.org"],
            input: "Quartz-river-1\nQuartz-river-2\nQuartz-river-2\n",
            capture: capture
        )
        XCTAssertEqual(changed.status, 0, changed.stderrText)
        let refused = try run(
            ["passwd", "--stdin", "alice@example.org"],
            input: "not-the-password\nQuartz-river-3\nQuartz-river-3\n",
            capture: capture
        )
        XCTAssertEqual(refused.status, 1, refused.stderrText)
        let messages = capture.messages()
        XCTAssertEqual(messages.count, 2, "\(messages)")
        // <85>: authpriv (10) * 8 + notice (5); <84>: warning.
        XCTAssertTrue(messages.first?.hasPrefix("<85>") == true, "\(messages)")
        XCTAssertTrue(
            messages.first?.range(
                of: #" sasldb\[[0-9]+\]: password change user=alice@example.org command uid=0 result=changed$"#,
                options: .regularExpression
            ) != nil,
            "\(messages)"
        )
        XCTAssertTrue(messages.last?.hasPrefix("<84>") == true, "\(messages)")
        XCTAssertTrue(messages.last?.contains("result=refused reason=authentication-failed") == true, "\(messages)")
        XCTAssertFalse(messages.joined().contains("Quartz-river"), "no password in syslog")
        XCTAssertFalse(messages.joined().contains("not-the-password"), "no password in syslog")
    }

    func testALoginWithALineFeedStaysOneEscapedLine() throws {
        let capture = try SyslogCapture(in: directory.appendingPathComponent("syslog"))
        let forged = "mallory\nDec  6 08:00:00 host sasldb: password change user=root result=changed"
        let result = try run(["chgsaslpasswd", "-p", forged], input: "Quartz-river-4\n", capture: capture)
        XCTAssertEqual(result.status, 1, result.stderrText)
        let messages = capture.messages()
        XCTAssertEqual(messages.count, 1, "\(messages)")
        let line = messages.first ?? ""
        XCTAssertFalse(line.contains("\n"), line)
        XCTAssertTrue(line.contains(#"user="mallory\nDec  6 08:00:00 host sasldb: "#), line)
    }
}
