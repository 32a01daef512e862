import Foundation
import Logging
import PasswordService
import XCTest

/// A password change blocks a thread for as long as it takes (the writer's answer, or the in-process hashing and
/// write); it must not take the threads SMTP logins run their SASL steps on (the process-wide pool, as in the daemon).
final class PasswordWriterFloodTests: XCTestCase {
    private static let flooders = 12
    private static let floodTime: Duration = .seconds(4)
    /// How long each change takes: a root writer hashing with many iterations, or waiting for the database's lock,
    /// takes as long.
    private static let changeTime: useconds_t = 500_000
    private static let loginInterval: Duration = .milliseconds(150)
    private static let loginBound: Duration = .seconds(2)

    /// Twelve poppassd clients change passwords back and forth as fast as a slow writer lets them, for four seconds,
    /// while an SMTP client logs in with AUTH PLAIN every 150 ms: every login is accepted within 2 s.
    func testSMTPLoginsStayFastWhilePoppassdFloodsASlowWriter() throws {
        let writer = try SocketPairWriter(users: Self.floodUsers) { _ in usleep(Self.changeTime) }
        defer { writer.removeDirectory() }
        let logger = Logger(label: "password-writer-flood-test") { _ in SwiftLogNoOpLogHandler() }
        let client = PasswordWriterClient(socket: writer.daemonEnd, pid: nil, logger: logger)
        defer { client.stop() }
        let fixture = try PasswordServiceFixture(users: ["alice": "alice horse battery"], writer: client) {
            $0.maximumConnectionsPerClient = Self.flooders + 4
        }
        defer { fixture.stop() }
        try floodWhileLoggingIn(fixture)
    }

    /// The same flood against a daemon that changes passwords itself (not started as root).
    func testSMTPLoginsStayFastWhilePoppassdFloodsSlowInProcessChanges() throws {
        var users = Self.floodUsers
        users["alice"] = "alice horse battery"
        let fixture = try PasswordServiceFixture(users: users, changeTime: Self.changeTime) {
            $0.maximumConnectionsPerClient = Self.flooders + 4
        }
        defer { fixture.stop() }
        try floodWhileLoggingIn(fixture)
    }

    private static var floodUsers: [String: String] {
        Dictionary(uniqueKeysWithValues: (0..<flooders).map { ("flood\($0)", password(0, $0)) })
    }

    /// The password of flood user `index` after `round` changes; two alternate.
    private static func password(_ round: Int, _ index: Int) -> String {
        round % 2 == 0 ? "first horse battery \(index)" : "second horse battery \(index)"
    }

    private func floodWhileLoggingIn(_ fixture: PasswordServiceFixture) throws {
        let floodEnd = ContinuousClock.now + Self.floodTime
        let changed = Counter()
        let flood = DispatchGroup()
        for index in 0..<Self.flooders {
            // A thread each: Dispatch runs only as many blocking work items at once as there are cores.
            flood.enter()
            Thread.detachNewThread {
                defer { flood.leave() }
                var round = 0
                while ContinuousClock.now < floodEnd {
                    let outcome = try? RoundcubeDriver.save(
                        port: fixture.poppassdPort,
                        user: "flood\(index)",
                        current: Self.password(round, index),
                        new: Self.password(round + 1, index)
                    )
                    guard outcome == .success else { return }
                    changed.increment()
                    round += 1
                }
            }
        }

        var latencies: [Duration] = []
        var codes: [Int] = []
        var next = ContinuousClock.now + .milliseconds(500)
        while next < floodEnd {
            let wait = (next - ContinuousClock.now).components
            if wait.seconds >= 0 {
                Thread.sleep(forTimeInterval: Double(wait.seconds) + Double(wait.attoseconds) / 1e18)
            }
            let started = ContinuousClock.now
            codes.append(
                (try? SMTPPlainLogin.authenticate(
                    port: fixture.smtpPort,
                    user: "alice",
                    password: "alice horse battery"
                ))
                    ?? 0
            )
            latencies.append(ContinuousClock.now - started)
            next = max(next + Self.loginInterval, ContinuousClock.now)
        }
        XCTAssertEqual(flood.wait(timeout: .now() + 20), .success, "the flood did not end")

        let slowest = latencies.max() ?? .zero
        print("flood: \(changed.value) changes; \(latencies.count) logins, slowest \(slowest)")
        XCTAssertGreaterThanOrEqual(changed.value, 6, "the flood never kept the changer busy")
        XCTAssertGreaterThanOrEqual(latencies.count, 15)
        XCTAssertEqual(Set(codes), [235], "every login is accepted")
        XCTAssertLessThan(slowest, Self.loginBound, "an SMTP login waited behind password changes")
    }
}
