import Dispatch
import NIOPosix
import SASLDB
import Synchronization

/// Runs the asynchronous PostgreSQL client for the synchronous ``CredentialBackend`` calls: the caller's thread (a
/// daemon's blocking-work pool, a command's main thread) waits for the answer, bounded in time.
enum BlockingBridge {
    /// A check for an operation that has not answered within `afterMilliseconds`: a reason to give up at once (the
    /// server is unreachable), or `nil` to wait on until the deadline.
    struct Stall: Sendable {
        let afterMilliseconds: Int
        let check: @Sendable () async -> String?
    }

    /// The result of `operation`, or ``SASLDBError/unavailable(store:detail:)`` once `timeoutMilliseconds` have
    /// passed or `stall` gives up; the operation is then cancelled, which withdraws a connection request still queued
    /// in the pool.
    ///
    /// Never call it on an event loop: it blocks the thread, and the client's own connections may need that loop.
    static func run<Value: Sendable>(
        store: String,
        timeoutMilliseconds: Int,
        stall: Stall? = nil,
        _ operation: @escaping @Sendable () async throws -> Value
    ) throws -> Value {
        precondition(
            MultiThreadedEventLoopGroup.currentEventLoop == nil,
            "a PostgreSQL store was called on an event loop; run store calls on a blocking-work thread"
        )
        let deadline = DispatchTime.now() + .milliseconds(timeoutMilliseconds)
        let done = DispatchSemaphore(value: 0)
        let outcome = Outcome<Value>()
        let task = Task {
            let result: Result<Value, any Error>
            do {
                result = .success(try await operation())
            } catch {
                result = .failure(error)
            }
            outcome.settle(result)
            done.signal()
        }
        // Waiting here rather than racing a timer inside the task: a query already sent does not stop when
        // cancelled, and the caller must get its answer at the deadline all the same.
        var answered = false
        var stalled = false
        if let stall, stall.afterMilliseconds < timeoutMilliseconds {
            answered = done.wait(timeout: .now() + .milliseconds(stall.afterMilliseconds)) == .success
            if !answered {
                stalled = true
                Task {
                    guard let reason = await stall.check() else { return }
                    outcome.settle(.failure(SASLDBError.unavailable(store: store, detail: reason)))
                    done.signal()
                }
            }
        }
        if !answered { answered = done.wait(timeout: deadline) == .success }
        guard answered, let result = outcome.result else {
            task.cancel()
            throw SASLDBError.unavailable(store: store, detail: "no answer within \(timeoutMilliseconds) ms")
        }
        // The stall check may have answered first: what the operation still waits for is withdrawn.
        if stalled { task.cancel() }
        return try result.get()
    }
}

/// The first answer of an operation or of its stall check, shared by their tasks and the waiting thread.
private final class Outcome<Value: Sendable>: Sendable {
    private let value = Mutex<Result<Value, any Error>?>(nil)

    /// Records `result` unless an answer is already recorded.
    func settle(_ result: Result<Value, any Error>) { value.withLock { $0 = $0 ?? result } }

    /// The recorded answer.
    var result: Result<Value, any Error>? { value.withLock { $0 } }
}
