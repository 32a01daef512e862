import ServerKitTestSupport
import XCTest

@testable import ServerKit

#if canImport(Glibc)
import Glibc
#endif

/// `sd_notify(3)`'s protocol against a datagram socket the test binds, at a path and in the abstract namespace.
final class ServiceManagerNotifierTests: XCTestCase {
    func testReadyReloadingAndStoppingReachASocketAtAPath() throws {
        let path = "/tmp/notify-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        let listener = try NotifySocketListener(address: path)
        let notifier = try XCTUnwrap(ServiceManagerNotifier(socketPath: path))

        try notifier.ready()
        XCTAssertEqual(listener.next(), "READY=1")

        var before = timespec()
        clock_gettime(CLOCK_MONOTONIC, &before)
        try notifier.reloading()
        var after = timespec()
        clock_gettime(CLOCK_MONOTONIC, &after)
        let lines = try XCTUnwrap(listener.next()).split(separator: "\n")
        XCTAssertEqual(lines.first, "RELOADING=1")
        XCTAssertEqual(lines.count, 2)
        let stamp = try XCTUnwrap(lines.last.flatMap { $0.hasPrefix("MONOTONIC_USEC=") ? $0.dropFirst(15) : nil })
        let microseconds = try XCTUnwrap(UInt64(stamp))
        XCTAssertGreaterThanOrEqual(microseconds, UInt64(before.tv_sec) * 1_000_000 + UInt64(before.tv_nsec) / 1_000)
        XCTAssertLessThanOrEqual(microseconds, UInt64(after.tv_sec) * 1_000_000 + UInt64(after.tv_nsec) / 1_000)

        try notifier.stopping()
        XCTAssertEqual(listener.next(), "STOPPING=1")
    }

    func testAnAbstractAddressIsReachedWithoutItsAtSign() throws {
        let name = "@sasldb-notify-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let listener = try NotifySocketListener(address: name)
        try XCTUnwrap(ServiceManagerNotifier(socketPath: name)).ready()
        XCTAssertEqual(listener.next(), "READY=1")
    }

    func testNoUsableAddressMeansNoNotifier() {
        for value in [nil, "", "@", "relative/path", "x"] {
            XCTAssertNil(ServiceManagerNotifier(socketPath: value), String(describing: value))
        }
    }

    func testAMissingSocketIsReportedNotIgnored() throws {
        let notifier = try XCTUnwrap(ServiceManagerNotifier(socketPath: "/nonexistent/notify.sock"))
        XCTAssertThrowsError(try notifier.ready()) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/notify.sock"), "\(error)")
        }
    }
}
