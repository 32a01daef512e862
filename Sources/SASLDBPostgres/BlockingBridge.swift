import Dispatch
import NIOPosix
import SASLDB
import Synchronization

/// Runs the asynchronous PostgreSQL client for the synchronous ``CredentialBackend`` calls: the caller's thread (a
/// daemon's blocking-work pool, a command's main thread) waits for the answer, bounded in time.
enum BlockingBridge {
    /// The result of `operation`, or ``SASLDBError/unavailable(store:detail:)`` once `timeoutMilliseconds` have
    /// passed; the operation is then cancelled, which withdraws a connection request still queued in the pool.
    ///
    /// Never call it on an event loop: it blocks the thread, and the client's own connections may need that loop.
    static func run<Value: Sendable>(
        store: String,
        timeoutMilliseconds: Int,
        _ operation: @escaping @Sendable () async throws -> Value
    ) throws -> Value {
        precondition(
            MultiThreadedEventLoopGroup.currentEventLoop == nil,
            "a PostgreSQL store was called on an event loop; run store calls on a blocking-work thread"
        )
        let done = DispatchSemaphore(value: 0)
        let outcome = Mutex<Result<Value, any Error>?>(nil)
        let task = Task {
            let result: Result<Value, any Error>
            do {
                result = .success(try await operation())
            } catch {
                result = .failure(error)
            }
            outcome.withLock { $0 = result }
            done.signal()
        }
        // Waiting here rather than racing a timer inside the task: a query already sent does not stop when
        // cancelled, and the caller must get its answer at the deadline all the same.
        guard done.wait(timeout: .now() + .milliseconds(timeoutMilliseconds)) == .success,
            let result = outcome.withLock({ $0 })
        else {
            task.cancel()
            throw SASLDBError.unavailable(store: store, detail: "no answer within \(timeoutMilliseconds) ms")
        }
        return try result.get()
    }
}
