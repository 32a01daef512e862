import Foundation
import ServerKitTestSupport
import XCTest

/// Setup 1b of `Docs/running-beside-postfix.md`, as the guide writes it: its `master.cf` lines in a private Postfix
/// instance and its `sink` line in the daemon (the demo), so a message submitted to sasl-smtpd is in Postfix's queue,
/// taken by that `smtpd`, before the client hears `250`.
extension DaemonConfigurationTests {
    /// The lines of the block marked `<!-- guide-test: name -->` in the guide.
    private func guideBlock(_ name: String) throws -> [String] {
        let guide = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Docs/running-beside-postfix.md")
        let lines = try String(contentsOf: guide, encoding: .utf8).components(separatedBy: "\n")
        let marker = try XCTUnwrap(lines.firstIndex(of: "<!-- guide-test: \(name) -->"), "the guide lost block \(name)")
        return Array(lines[(marker + 2)...].prefix { $0 != "```" })
    }

    func testSetup1bHandsTheMessageToPostfixThroughTheGuidesSmtpdOnLoopback() async throws {
        try PostfixInstance.requirePostfix()
        let port = try await PostfixInstance.freePort()
        // The guide's service, on a free port instead of 10025, and outside a chroot: the private instance has no
        // copy of the system files a chrooted smtpd needs.
        var service = try guideBlock("master-1b")
        XCTAssertTrue(service.first?.hasPrefix("127.0.0.1:10025 inet n  -       y ") == true, "\(service)")
        service[0] = service[0].replacingOccurrences(
            of: "127.0.0.1:10025 inet n  -       y ",
            with: "127.0.0.1:\(port) inet n  -       n "
        )
        let postfix = try await PostfixInstance.start(
            relayPort: 9,
            caFile: "/dev/null",
            client: .init(login: "unused", password: "unused", mechanism: "PLAIN", mapType: "texthash"),
            extraServices: service.joined(separator: "\n") + "\n"
        ) { instance in
            addTeardownBlock { await instance.stop() }
        }
        let sink = try XCTUnwrap(try guideBlock("sink-1b").first)
        XCTAssertEqual(sink, "sink = smtp:127.0.0.1:10025")
        let setting = sink.replacingOccurrences(of: " = ", with: "=").replacingOccurrences(of: "10025", with: "\(port)")

        let directory = try SinkTestSupport.makeDirectory(self)
        let (_, _, _, smtps) = try startDemo(directory, extra: ["--set", setting])
        try "demo-password\n".write(toFile: directory + "/password", atomically: true, encoding: .utf8)
        let sent = try run(
            [
                "smtp-test", "--port", String(smtps), "--tls", "--cafile", directory + "/tls/cert.pem", "--mechanism",
                "SCRAM-SHA-256", "--user", "demo@demo.local", "--password-file", directory + "/password", "--to",
                "bob@example.net",
            ]
        )
        XCTAssertEqual(sent.status, 0, sent.stdout + sent.stderr)
        XCTAssertTrue(sent.stdout.contains("SMTP< 250 "), sent.stdout)
        let taken = await postfix.waitForLog("postfix/sasl-smtpd/smtpd")
        XCTAssertTrue(taken, postfix.log())
        XCTAssertTrue(postfix.log().contains("from=<demo@demo.local>"), postfix.log())
    }
}
