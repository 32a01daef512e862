import Dispatch
import XCTest

@testable import ServerKit

final class BoundedBlockingWorkTests: XCTestCase {
    func testWorkBeyondTheLimitIsRefusedAtOnceAndAFreedThreadIsUsedAgain() async throws {
        let work = BoundedBlockingWork(limit: 2)
        let release = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        let blocked = (0..<2).map { index in
            Task {
                try await work.run {
                    started.signal()
                    release.wait()
                    return index
                }
            }
        }
        for _ in 0..<2 { await Task.detached { started.wait() }.value }
        XCTAssertEqual(work.runningCount, 2)

        let clock = ContinuousClock()
        let begin = clock.now
        do {
            _ = try await work.run { 99 }
            XCTFail("a third call ran while two threads were busy")
        } catch {
            XCTAssertEqual(error, BoundedBlockingWork.Busy(limit: 2))
        }
        XCTAssertLessThan(clock.now - begin, .seconds(1), "the refusal waited")

        release.signal()
        release.signal()
        let results = try await [blocked[0].value, blocked[1].value]
        XCTAssertEqual(results.sorted(), [0, 1])
        XCTAssertEqual(work.runningCount, 0)
        let again = try await work.run { 7 }
        XCTAssertEqual(again, 7)
    }
}
