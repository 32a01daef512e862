import NIOCore
import Synchronization
import XCTest

@testable import ServerKit

final class AuthFailureTrackerTests: XCTestCase {
    /// A clock the test moves by hand.
    private final class ManualClock: Sendable {
        private let time = Mutex(NIODeadline.uptimeNanoseconds(1_000_000_000))
        var now: NIODeadline { time.withLock { $0 } }
        func advance(_ amount: TimeAmount) { time.withLock { $0 = $0 + amount } }
    }

    private func makeTracker(
        _ clock: ManualClock,
        policy: AuthFailurePolicy = AuthFailurePolicy(
            freeFailures: 1,
            baseDelay: .seconds(1),
            maximumDelay: .seconds(8)
        )
    ) -> AuthFailureTracker {
        AuthFailureTracker(policy: policy, now: { clock.now })
    }

    func testDelayGrowsWithEachFailureUpToTheMaximum() {
        let clock = ManualClock()
        let tracker = makeTracker(clock)
        XCTAssertEqual(tracker.delay(for: "192.0.2.1"), .zero)
        let delays = (0..<7).map { _ in tracker.recordFailure(from: "192.0.2.1", fingerprint: nil) }
        XCTAssertEqual(delays, [.zero, .seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(8), .seconds(8)])
        XCTAssertEqual(tracker.delay(for: "192.0.2.1"), .seconds(8))
    }

    func testAddressesAreCountedApart() {
        let tracker = makeTracker(ManualClock())
        for _ in 0..<3 { tracker.recordFailure(from: "192.0.2.1", fingerprint: nil) }
        XCTAssertEqual(tracker.failureCount(for: "192.0.2.1"), 3)
        XCTAssertEqual(tracker.delay(for: "192.0.2.2"), .zero)
    }

    func testIdenticalCredentialIsCountedOnce() {
        let tracker = makeTracker(ManualClock())
        for _ in 0..<5 { tracker.recordFailure(from: "192.0.2.1", fingerprint: [1, 2, 3]) }
        XCTAssertEqual(tracker.failureCount(for: "192.0.2.1"), 1)
        tracker.recordFailure(from: "192.0.2.1", fingerprint: [4, 5, 6])
        XCTAssertEqual(tracker.failureCount(for: "192.0.2.1"), 2)
        XCTAssertEqual(tracker.delay(for: "192.0.2.1"), .seconds(1))
    }

    func testFailuresDecayAfterTheMemory() {
        let clock = ManualClock()
        let tracker = makeTracker(
            clock,
            policy: AuthFailurePolicy(freeFailures: 0, baseDelay: .seconds(1), memory: .minutes(10))
        )
        tracker.recordFailure(from: "192.0.2.1", fingerprint: nil)
        clock.advance(.minutes(6))
        tracker.recordFailure(from: "192.0.2.1", fingerprint: nil)
        XCTAssertEqual(tracker.delay(for: "192.0.2.1"), .seconds(2))
        clock.advance(.minutes(5))
        XCTAssertEqual(tracker.failureCount(for: "192.0.2.1"), 1, "the first failure is forgotten")
        XCTAssertEqual(tracker.delay(for: "192.0.2.1"), .seconds(1))
        clock.advance(.minutes(6))
        XCTAssertEqual(tracker.delay(for: "192.0.2.1"), .zero)
        XCTAssertEqual(tracker.trackedAddressCount, 0)
    }

    func testRepeatedCredentialCountsAgainOnceForgotten() {
        let clock = ManualClock()
        let tracker = makeTracker(clock, policy: AuthFailurePolicy(memory: .minutes(1)))
        tracker.recordFailure(from: "192.0.2.1", fingerprint: [9])
        clock.advance(.minutes(2))
        tracker.recordFailure(from: "192.0.2.1", fingerprint: [9])
        XCTAssertEqual(tracker.failureCount(for: "192.0.2.1"), 1)
    }

    func testTrackedAddressesAreBounded() {
        let clock = ManualClock()
        let tracker = makeTracker(clock, policy: AuthFailurePolicy(maximumTrackedAddresses: 100))
        for index in 0..<1000 {
            clock.advance(.milliseconds(1))
            tracker.recordFailure(from: "10.0.\(index / 256).\(index % 256)", fingerprint: nil)
        }
        XCTAssertLessThanOrEqual(tracker.trackedAddressCount, 100)
        XCTAssertEqual(tracker.failureCount(for: "10.0.3.231"), 1, "the most recent address is kept")
    }

    func testConcurrentFailuresAreAllCounted() async {
        let tracker = makeTracker(ManualClock())
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    for _ in 0..<8 { tracker.recordFailure(from: "192.0.2.9", fingerprint: nil) }
                }
            }
        }
        XCTAssertEqual(tracker.failureCount(for: "192.0.2.9"), 64)
    }

    func testPolicyDelayDoesNotOverflow() {
        let policy = AuthFailurePolicy(freeFailures: 0, baseDelay: .seconds(1), maximumDelay: .hours(1))
        XCTAssertEqual(policy.delay(forFailures: 1_000_000), .hours(1))
        XCTAssertEqual(policy.delay(forFailures: 0), .zero)
    }
}

/// Which clients share a failure count, and the cost of a full tracker.
final class AuthFailureGroupingTests: XCTestCase {
    func testIPv6ClientsAreGroupedByTheirSlash64AndIPv4ByAddress() {
        let policy = AuthFailurePolicy()
        XCTAssertEqual(policy.clientKey(for: "2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64")
        XCTAssertEqual(policy.clientKey(for: "2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64")
        XCTAssertEqual(policy.clientKey(for: "2001:db8:1:3::1"), "2001:db8:1:3::/64")
        XCTAssertEqual(policy.clientKey(for: "192.0.2.7"), "192.0.2.7")
        XCTAssertEqual(policy.clientKey(for: "not an address"), "not an address")
    }

    func testTheIPv4AndIPv6PrefixesAreConfigurable() {
        let policy = AuthFailurePolicy(ipv4PrefixLength: 24, ipv6PrefixLength: 48)
        XCTAssertEqual(policy.clientKey(for: "192.0.2.7"), "192.0.2.0/24")
        XCTAssertEqual(policy.clientKey(for: "192.0.2.250"), "192.0.2.0/24")
        XCTAssertEqual(policy.clientKey(for: "192.0.3.1"), "192.0.3.0/24")
        XCTAssertEqual(policy.clientKey(for: "2001:db8:1:2::1"), "2001:db8:1::/48")
        XCTAssertEqual(AuthFailurePolicy(ipv4PrefixLength: 20).clientKey(for: "10.1.31.9"), "10.1.16.0/20")
        XCTAssertEqual(AuthFailurePolicy(ipv6PrefixLength: 128).clientKey(for: "2001:db8::1"), "2001:db8::1")
    }

    /// 30 addresses of one /64 draw on one budget: the thirtieth fresh address already waits the maximum.
    func testThirtyAddressesOfOneSlash64ShareOneBudget() {
        let policy = AuthFailurePolicy(freeFailures: 1, baseDelay: .seconds(1), maximumDelay: .seconds(15))
        let tracker = AuthFailureTracker(policy: policy)
        for host in 1...30 {
            tracker.recordFailure(
                from: policy.clientKey(for: "2001:db8:0:7::\(String(host, radix: 16))"),
                fingerprint: nil
            )
        }
        XCTAssertEqual(tracker.trackedAddressCount, 1)
        XCTAssertEqual(tracker.delay(for: policy.clientKey(for: "2001:db8:0:7::ffff")), .seconds(15))
        XCTAssertEqual(tracker.delay(for: policy.clientKey(for: "2001:db8:0:8::1")), .zero)
    }

    func testTheDefaultPauseStaysBelowCommonClientTimeouts() {
        let policy = AuthFailurePolicy()
        XCTAssertEqual(policy.delay(forFailures: 1_000), .seconds(15))
    }

    /// A full tracker forgets the key whose last failure is oldest, whatever order keys were refreshed in.
    func testAFullTrackerEvictsTheLeastRecentlyFailedKey() {
        let tracker = AuthFailureTracker(policy: AuthFailurePolicy(maximumTrackedAddresses: 3))
        tracker.recordFailure(from: "a", fingerprint: nil)
        tracker.recordFailure(from: "b", fingerprint: nil)
        tracker.recordFailure(from: "c", fingerprint: nil)
        tracker.recordFailure(from: "a", fingerprint: nil)
        tracker.recordFailure(from: "d", fingerprint: nil)
        XCTAssertEqual(tracker.failureCount(for: "b"), 0, "b failed least recently")
        XCTAssertEqual(tracker.failureCount(for: "a"), 2)
        XCTAssertEqual(tracker.failureCount(for: "c"), 1)
        XCTAssertEqual(tracker.failureCount(for: "d"), 1)
        XCTAssertEqual(tracker.trackedAddressCount, 3)
    }

    /// Many more keys than the bound pass through a full tracker and it keeps exactly the newest.
    func testAFloodOfFreshKeysKeepsTheNewestWithinTheBound() {
        let tracker = AuthFailureTracker(policy: AuthFailurePolicy(maximumTrackedAddresses: 100))
        for index in 0..<10_000 { tracker.recordFailure(from: "198.51.100.\(index)", fingerprint: nil) }
        XCTAssertEqual(tracker.trackedAddressCount, 100)
        XCTAssertEqual(tracker.failureCount(for: "198.51.100.9999"), 1)
        XCTAssertEqual(tracker.failureCount(for: "198.51.100.9900"), 1)
        XCTAssertEqual(tracker.failureCount(for: "198.51.100.9899"), 0)
    }
}
