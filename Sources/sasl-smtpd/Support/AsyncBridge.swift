import Dispatch
import Synchronization

/// Runs the async part of a command from a synchronous `main`, the main thread blocked on a semaphore meanwhile.
///
/// Why not `AsyncParsableCommand`: Swift's async `main` parks the main thread in `dispatch_main`, which calls
/// `pthread_exit` and keeps the exiting thread in `sigsuspend`. glibc's `setuid` changes the credentials of every
/// thread except exiting ones, so after the privilege drop that parked main thread would stay root, able to run
/// signal handlers as root, and `ps` (which shows it) would report the daemon as root. A main thread blocked on a
/// semaphore is alive and changes with the others.
enum AsyncBridge {
    /// Runs `body` to completion and rethrows its error.
    static func run(_ body: @escaping @Sendable () async throws -> Void) throws {
        let failure = Failure()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            do {
                try await body()
            } catch {
                failure.error.withLock { $0 = error }
            }
            done.signal()
        }
        done.wait()
        if let error = failure.error.withLock({ $0 }) { throw error }
    }

    /// The error `body` threw, written by its task and read by the main thread after the semaphore.
    private final class Failure: Sendable {
        let error = Mutex<(any Error)?>(nil)
    }
}
