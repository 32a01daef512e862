import Synchronization

/// A count shared by closures that run on other threads.
final class Counter: Sendable {
    private let count = Mutex(0)

    /// Counts one and returns the count so far.
    @discardableResult
    func increment() -> Int {
        count.withLock { count in
            count += 1
            return count
        }
    }

    /// The count so far.
    var value: Int { count.withLock { $0 } }
}
