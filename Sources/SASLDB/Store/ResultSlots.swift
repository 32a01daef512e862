import Synchronization

/// Results of parallel work, one slot per task, filled from any thread.
final class ResultSlots<Value: Sendable>: Sendable {
    private let slots: Mutex<[Result<Value, any Error>?]>

    init(count: Int) { slots = Mutex(Array(repeating: nil, count: count)) }

    func set(_ index: Int, _ result: Result<Value, any Error>) {
        slots.withLock { $0[index] = result }
    }

    /// The values in task order; rethrows the first task's error.
    func values() throws -> [Value] {
        try slots.withLock { slots in
            try slots.map { slot in
                guard let slot else { throw SASLDBError.invalidValue("a parallel task did not finish") }
                return try slot.get()
            }
        }
    }
}
