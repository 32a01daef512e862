import Synchronization

/// Blocking work on at most ``limit`` threads of its own at once; more is refused at once, never queued.
///
/// For calls that may block for long and whose count must stay bounded, such as a PAM conversation that asks a remote
/// directory: each runs on its own thread (``BlockingWork``), so it holds up neither an event loop nor the shared
/// pools, and once ``limit`` calls are running the next one fails with ``Busy`` instead of waiting in a queue that a
/// flood of clients could make as long as it likes. The caller answers such a refusal with "try again later".
package final class BoundedBlockingWork: Sendable {
    /// Every thread was busy; the work did not run.
    package struct Busy: Error, Sendable, Equatable {
        /// The number of threads that were busy.
        package var limit: Int
    }

    /// The most calls running at once.
    package let limit: Int
    private let running = Mutex(0)

    /// Creates a bound of `limit` concurrent calls (at least one).
    package init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// The calls running now.
    package var runningCount: Int { running.withLock { $0 } }

    /// Runs `body` on a thread of its own and returns its result.
    ///
    /// - Throws: ``Busy`` without running `body` when ``limit`` calls are running.
    package func run<Result: Sendable>(_ body: @escaping @Sendable () -> Result) async throws(Busy) -> Result {
        let admitted = running.withLock { count in
            guard count < limit else { return false }
            count += 1
            return true
        }
        guard admitted else { throw Busy(limit: limit) }
        defer { running.withLock { $0 -= 1 } }
        return await BlockingWork.run(body)
    }
}
