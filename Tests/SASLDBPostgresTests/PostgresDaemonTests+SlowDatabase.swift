import Foundation
import SASLDB
import SASLDBPostgres
import ServerKitTestSupport
import XCTest

/// A database that answers slowly is not one that is down: the pool's probe connects, so the AUTH waits for its
/// answer instead of getting a quick 454.
extension PostgresDaemonTests {
    func testASlowButReachableDatabaseIsWaitedForNotFailedFast() throws {
        let database = try PostgresTestDatabase("slow")
        defer { database.drop() }
        let daemon = try daemonWithAlice(try database.location)
        XCTAssertEqual(LoopbackLineClient.authPlain(port: daemon.smtpPort, user: "alice", password: "pw"), 235)

        // The table locked for 2 s: every lookup waits for the lock, well past the 250 ms that make a probe.
        let locked = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            _ = try? database.psql(
                "BEGIN; LOCK TABLE sasldb IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(2); COMMIT;"
            )
            locked.signal()
        }
        Thread.sleep(forTimeInterval: 0.3)
        let sent = Date()
        let code = LoopbackLineClient.authPlain(port: daemon.smtpPort, user: "alice", password: "pw")
        let waited = Date().timeIntervalSince(sent)
        locked.wait()
        XCTAssertEqual(code, 235, "a slow database was answered \(code) after \(waited) s: \(daemon.currentLog)")
        XCTAssertGreaterThan(waited, 1, "the AUTH did not wait for the lock")
        XCTAssertEqual(LoopbackLineClient.authPlain(port: daemon.smtpPort, user: "alice", password: "pw"), 235)
    }
}
