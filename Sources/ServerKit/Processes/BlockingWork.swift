#if canImport(Glibc)
import Glibc
#endif

/// Runs blocking work (fsync, a child process) on a thread of its own, so that a slow disk or a slow `sendmail` never
/// holds up an event loop or a thread of the shared pools (NIO's or Swift's cooperative pool).
///
/// A thread per delivery is cheap beside what the work costs (a process spawn, two fsyncs), and the server bounds the
/// number of concurrent deliveries by its connection limit. The thread blocks `SIGPIPE`, so that writing to a child
/// that went away fails with `EPIPE` instead of killing the process; a pending `SIGPIPE` dies with the thread.
package enum BlockingWork {
    /// Runs `body` on a new detached thread and returns its result, or throws its error.
    package static func run<T: Sendable, Failure: Error>(
        _ body: @escaping @Sendable () throws(Failure) -> T
    ) async throws(Failure) -> T {
        let result: Result<T, Failure> = await withCheckedContinuation { continuation in
            let job = Job {
                var blocked = sigset_t()
                sigemptyset(&blocked)
                sigaddset(&blocked, SIGPIPE)
                pthread_sigmask(SIG_BLOCK, &blocked, nil)
                do throws(Failure) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
            if !job.startThread() {
                // No thread could be made (resource limits): do the work here rather than not at all.
                job.work()
            }
        }
        return try result.get()
    }

    /// The closure a thread runs, kept alive by the thread until it is done.
    private final class Job: Sendable {
        let work: @Sendable () -> Void

        init(_ work: @escaping @Sendable () -> Void) { self.work = work }

        /// Starts a detached thread running ``work``; `false` when the system refused to make one.
        func startThread() -> Bool {
            let retained = Unmanaged.passRetained(self).toOpaque()
            var thread = pthread_t()
            let status = pthread_create(
                &thread,
                nil,
                { argument in
                    guard let argument else { return nil }
                    let job = Unmanaged<Job>.fromOpaque(argument).takeRetainedValue()
                    job.work()
                    return nil
                },
                retained
            )
            guard status == 0 else {
                Unmanaged<Job>.fromOpaque(retained).release()
                return false
            }
            pthread_detach(thread)
            return true
        }
    }
}
