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
