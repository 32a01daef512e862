import AuthService
import Foundation
import ServerKitTestSupport
import XCTest

/// Cyrus's own client, `testsaslauthd` (Debian package sasl2-bin), against our socket.
final class TestsaslauthdInteropTests: XCTestCase {
    private func testsaslauthd() throws -> String {
        if let path = ProcessRunner.which("testsaslauthd")
            ?? ["/usr/sbin/testsaslauthd"].first(where: {
                FileManager.default.isExecutableFile(atPath: $0)
            })
        {
            return path
        }
        let reason = "testsaslauthd (Debian package sasl2-bin) is not installed"
        if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail("\(reason): .ci/run must provide it") }
        throw XCTSkip(reason)
    }

    private func run(_ tool: String, _ socket: String, _ arguments: [String]) -> String {
        let result = ProcessRunner.run(tool, ["-f", socket, "-s", "smtp"] + arguments, timeout: 30)
        return result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func testTestsaslauthdRightWrongAndUnknownUser() async throws {
        let tool = try testsaslauthd()
        let fixture = try await SaslauthdFixture(users: ["alice": "right"])
        XCTAssertEqual(
            run(tool, fixture.socketPath, ["-u", "alice", "-p", "right", "-r", "example.org"]),
            "0: OK \"Success.\""
        )
        XCTAssertEqual(run(tool, fixture.socketPath, ["-u", "alice@example.org", "-p", "right"]), "0: OK \"Success.\"")
        let wrong = run(tool, fixture.socketPath, ["-u", "alice", "-p", "wrong", "-r", "example.org"])
        let unknown = run(tool, fixture.socketPath, ["-u", "mallory", "-p", "right", "-r", "example.org"])
        XCTAssertEqual(wrong, "0: NO \"authentication failed\"")
        XCTAssertEqual(unknown, wrong)
        await fixture.stop()
    }
}
