import NIOCore
import ServiceLifecycle
import Synchronization

/// The listening life of a server, shared by every service (SMTP submission, password change): idle, starting,
/// listening on some addresses, stopped. It hands the bound addresses to whoever waits for them, keeps the listening
/// channels so that shutdown can close them, and waits for graceful shutdown or cancellation.
package final class ListenerLifecycle: Sendable {
    private enum Phase {
        case idle
        case starting
        case listening([SocketAddress])
        case stopped
    }

    private struct State {
        var phase = Phase.idle
        var channels: [any Channel] = []
        var waiters: [CheckedContinuation<[SocketAddress], any Error>] = []
    }

    private let state = Mutex(State())

    package init() {}

    /// Moves from idle to starting; `false` when the server was started before (a `Service` runs once).
    package func start() -> Bool {
        state.withLock { state in
            guard case .idle = state.phase else { return false }
            state.phase = .starting
            return true
        }
    }

    /// Records the bound channels and hands their addresses to every waiter.
    package func publish(_ channels: [any Channel], addresses: [SocketAddress]) {
        let waiters = state.withLock { state in
            state.phase = .listening(addresses)
            state.channels = channels
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: addresses) }
    }

    /// The bound addresses once published; waits until then.
    ///
    /// - Parameter stopped: the error thrown when the server stopped or failed to bind.
    package func addresses(stopped: any Error) async throws -> [SocketAddress] {
        try await withCheckedThrowingContinuation { continuation in
            let result: Result<[SocketAddress], any Error>? = state.withLock { state in
                switch state.phase {
                case .listening(let addresses): return .success(addresses)
                case .stopped: return .failure(stopped)
                case .idle, .starting:
                    state.waiters.append(continuation)
                    return nil
                }
            }
            if let result { continuation.resume(with: result) }
        }
    }

    /// Waits until graceful shutdown or cancellation (or until every listener closed), then stops accepting.
    package func serveUntilShutdown() async {
        let channels = state.withLock { $0.channels }
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                for channel in channels { try? await channel.closeFuture.get() }
            } onGracefulShutdown: {
                self.stopAccepting()
            }
        } onCancel: {
            self.stopAccepting()
        }
        stopAccepting()
    }

    /// Closes the listening channels; connections already accepted go on.
    package func stopAccepting() {
        let channels = state.withLock { state in
            defer { state.channels = [] }
            return state.channels
        }
        for channel in channels { channel.close(promise: nil) }
    }

    /// Marks the server stopped and fails every waiter with `error`.
    package func finish(error: any Error) {
        let waiters = state.withLock { state in
            state.phase = .stopped
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(throwing: error) }
    }
}
