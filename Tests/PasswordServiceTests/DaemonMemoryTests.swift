import Foundation
import SASLDB
import ServerKitTestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// 200 authenticated clients each sending a maximum-size message slowly: the daemon holds no more message bytes than
/// `message_memory_limit`, refusing the messages beyond it with 452 4.3.1, and its memory stays bounded.
final class DaemonMemoryTests: XCTestCase {
    /// The peak resident memory of `pid` in KiB (`VmHWM`).
    private func peakResidentKiB(_ pid: pid_t) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
        return Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "") ?? 0
    }

    func testSlowMaximumSizeMessagesFromManyClientsStayWithinTheMessageMemoryLimit() throws {
        let user = try TestUser.create(for: self)
        let smtpd = try builtExecutable("sasl-smtpd", override: "SASL_SMTPD_BIN")
        let directory = NSTemporaryDirectory() + "memory-" + UUID().uuidString
        XCTAssertEqual(mkdir(directory, 0o755), 0)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: directory) }
        let database = directory + "/sasldb2"
        let store = StoreFactory.makeStore(.file(database))
        try store.setPassword(
            Array("Quartz-river-1".utf8),
            for: try UserID(parsing: "alice@example.org", defaultRealm: "x")
        )
        XCTAssertEqual(chown(database, 0, user.gid), 0)
        XCTAssertEqual(chmod(database, 0o640), 0)
        XCTAssertEqual(mkdir(directory + "/Maildir", 0o755), 0)
        XCTAssertEqual(chown(directory + "/Maildir", user.uid, user.gid), 0)

        let messageSize = 1 << 20
        let daemon = try DaemonProcess.startOnLoopback(
            smtpd,
            mechanisms: "PLAIN",
            extra: """
                sasldb_path = \(database)
                poppassd_listen =
                passwd_socket =
                message_size_limit = \(messageSize + 65536)
                message_memory_limit = \(16 << 20)
                max_connections_per_address = 300
                """,
            in: directory,
            environment: ["SASLDB_CONFIG": directory + "/none.conf"],
            test: self
        )
        let baseline = peakResidentKiB(daemon.process.processIdentifier)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Interop/slow-submissions.py").path
        let result = runProcess(
            "/usr/bin/python3",
            [script, String(daemon.smtpPort), "200", String(messageSize), "alice@example.org", "Quartz-river-1"]
        )
        XCTAssertEqual(result.status, 0, result.output)
        let counts = (try? JSONSerialization.jsonObject(with: Data(result.output.utf8))) as? [String: Int] ?? [:]
        XCTAssertEqual(counts.values.reduce(0, +), 200, result.output)
        XCTAssertGreaterThan(counts["250", default: 0], 0, "some messages are accepted: \(result.output)")
        XCTAssertGreaterThan(counts["452", default: 0], 0, "the budget refused some: \(result.output)")
        XCTAssertEqual(counts["250", default: 0] + counts["452", default: 0], 200, result.output)
        let peak = peakResidentKiB(daemon.process.processIdentifier)
        // 200 messages of 1 MiB held at once would be 200 MiB and more; the budget is 16 MiB (measured: about 80 MiB
        // over the baseline with connection buffers).
        XCTAssertLessThan(peak - baseline, 128 * 1024, "peak \(peak) KiB over a baseline of \(baseline) KiB")
        let log = (try? String(contentsOfFile: daemon.logPath, encoding: .utf8)) ?? ""
        XCTAssertTrue(log.contains("msg=\"message memory spent\""), "the refusals are logged")
        print("daemon memory: baseline \(baseline) KiB, peak \(peak) KiB, replies \(result.output)")
        daemon.stop()
    }
}
