import Logging
import NIOCore
import Synchronization

/// The open connections of one server: counts (total and per client address) for the limits, and the channels
/// themselves for graceful shutdown. Thread-safe: every accepting event loop admits into it. Shared with the
/// password-change services, which bound and drain their connections the same way.
package final class ConnectionRegistry: Sendable {
    /// Why a connection was not admitted.
    package enum Refusal: Equatable {
        case tooManyConnections
        case tooManyFromAddress
        case shuttingDown
    }

    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var perAddress: [String: Int] = [:]
        var nextSession: UInt64 = 0
        var shuttingDown = false
        var drained: [EventLoopPromise<Void>] = []
    }

    private let state = Mutex(State())
    /// A random prefix of this server's session ids, so ids from two runs (two log files) do not collide.
    private let sessionPrefix: UInt32

    package init() {
        var generator = SystemRandomNumberGenerator()
        sessionPrefix = generator.next()
    }

    /// Admits `channel` from `address` unless a limit is reached; an admitted channel leaves the registry when it
    /// closes.
    package func admit(
        _ channel: any Channel,
        address: String,
        maximumConnections: Int,
        maximumPerAddress: Int
    ) -> Refusal? {
        let key = ObjectIdentifier(channel)
        let refusal: Refusal? = state.withLock { state in
            if state.shuttingDown { return .shuttingDown }
            if state.channels.count >= maximumConnections { return .tooManyConnections }
            if state.perAddress[address, default: 0] >= maximumPerAddress { return .tooManyFromAddress }
            state.channels[key] = channel
            state.perAddress[address, default: 0] += 1
            return nil
        }
        if refusal == nil {
            channel.closeFuture.whenComplete { _ in self.release(key, address: address) }
        }
        return refusal
    }

    private func release(_ key: ObjectIdentifier, address: String) {
        let drained: [EventLoopPromise<Void>] = state.withLock { state in
            guard state.channels.removeValue(forKey: key) != nil else { return [] }
            let remaining = state.perAddress[address, default: 1] - 1
            state.perAddress[address] = remaining > 0 ? remaining : nil
            guard state.channels.isEmpty else { return [] }
            defer { state.drained = [] }
            return state.drained
        }
        for promise in drained { promise.succeed() }
    }

    /// A new session id: the server's random prefix and a counter, in hex.
    package func nextSessionID() -> String {
        let counter = state.withLock { state in
            state.nextSession += 1
            return state.nextSession
        }
        return hex(UInt64(sessionPrefix)) + hex(counter)
    }

    /// The number of open connections.
    package var count: Int { state.withLock { $0.channels.count } }

    /// The number of open connections from `address`.
    package func count(from address: String) -> Int { state.withLock { $0.perAddress[address, default: 0] } }

    /// Refuses new connections from now on and returns the open ones.
    package func beginShutdown() -> [any Channel] {
        state.withLock { state in
            state.shuttingDown = true
            return Array(state.channels.values)
        }
    }

    /// The open connections.
    package var channels: [any Channel] { state.withLock { Array($0.channels.values) } }

    /// A future that succeeds once no connection is open.
    package func whenDrained(on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        let empty = state.withLock { state in
            if state.channels.isEmpty { return true }
            state.drained.append(promise)
            return false
        }
        if empty { promise.succeed() }
        return promise.futureResult
    }

    /// Refuses new connections and ends every open one. Graceful: each is sent `ChannelShouldQuiesceEvent` (its
    /// handler finishes what it is doing and says goodbye) and given `timeout`; what is left is then closed.
    package func drain(graceful: Bool, timeout: TimeAmount, on loop: any EventLoop, logger: Logger) async {
        let open = beginShutdown()
        guard !open.isEmpty else { return }
        if graceful {
            logger.info("draining connections", metadata: ["connections": "\(open.count)"])
            for channel in open {
                channel.eventLoop.execute {
                    channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
                }
            }
            await firstOf(whenDrained(on: loop), orAfter: timeout, on: loop)
        }
        let remaining = channels
        if !remaining.isEmpty {
            logger.info("closing remaining connections", metadata: ["connections": "\(remaining.count)"])
            for channel in remaining { channel.close(promise: nil) }
        }
        // Bounded: closing a socket completes promptly.
        await firstOf(whenDrained(on: loop), orAfter: .seconds(5), on: loop)
    }

    /// Waits until `future` completes or `timeout` passes.
    private func firstOf(_ future: EventLoopFuture<Void>, orAfter timeout: TimeAmount, on loop: any EventLoop) async {
        let limit = loop.scheduleTask(in: timeout) {}
        let first = loop.makePromise(of: Void.self)
        future.cascade(to: first)
        limit.futureResult.cascade(to: first)
        try? await first.futureResult.get()
        limit.cancel()
    }

    private func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }
}
