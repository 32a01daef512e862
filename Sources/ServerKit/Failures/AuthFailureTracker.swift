import NIOCore
import Synchronization

/// How failed authentication attempts from one client address slow that address down, across all its connections.
///
/// A password guesser opens many connections, each allowed a few attempts; the per-session pause alone would let it
/// try in parallel. The server therefore counts failures per client address and makes every new connection and every
/// further failure from that address wait ``delay(forFailures:)``.
public struct AuthFailurePolicy: Sendable, Equatable {
    /// Failures forgiven before any delay applies (a user mistyping once is not slowed down).
    public var freeFailures: Int
    /// The delay after the first failure past ``freeFailures``; it doubles with each further failure.
    public var baseDelay: TimeAmount
    /// The longest delay.
    public var maximumDelay: TimeAmount
    /// How long a failure is remembered: older failures stop counting (the count decays).
    public var memory: TimeAmount
    /// At most this many addresses are tracked; when full, the address whose last failure is oldest is forgotten.
    /// Bounds the tracker's memory against a flood of spoofed or rotating addresses.
    public var maximumTrackedAddresses: Int

    /// Creates a policy.
    ///
    /// - Parameters:
    ///   - freeFailures: failures forgiven before any delay.
    ///   - baseDelay: the first delay, doubled per further failure.
    ///   - maximumDelay: the cap of the delay.
    ///   - memory: how long a failure counts.
    ///   - maximumTrackedAddresses: the bound on tracked addresses.
    public init(
        freeFailures: Int = 1,
        baseDelay: TimeAmount = .seconds(1),
        maximumDelay: TimeAmount = .seconds(30),
        memory: TimeAmount = .minutes(15),
        maximumTrackedAddresses: Int = 10_000
    ) {
        self.freeFailures = max(0, freeFailures)
        self.baseDelay = baseDelay
        self.maximumDelay = maximumDelay
        self.memory = memory
        self.maximumTrackedAddresses = max(1, maximumTrackedAddresses)
    }

    /// The delay after `failures` remembered failures: none up to ``freeFailures``, then ``baseDelay`` doubling per
    /// failure, at most ``maximumDelay``.
    public func delay(forFailures failures: Int) -> TimeAmount {
        let excess = failures - freeFailures
        guard excess > 0 else { return .zero }
        let maximum = maximumDelay.nanoseconds
        var delay = baseDelay.nanoseconds
        var doublings = excess - 1
        while doublings > 0 && delay < maximum {
            delay = delay > maximum / 2 ? maximum : delay * 2
            doublings -= 1
        }
        return .nanoseconds(min(delay, maximum))
    }
}

/// Counts failed AUTH attempts per client address, shared by every connection of a server; thread-safe.
///
/// Identical attempts (the same credential fingerprint from the same address, as a client retrying a saved wrong
/// password produces) count once. Failures older than ``AuthFailurePolicy/memory`` stop counting.
public final class AuthFailureTracker: Sendable {
    /// One failure remembered.
    private struct Failure {
        var fingerprint: [UInt8]?
        var time: NIODeadline
    }

    /// What is known about one address.
    private struct Entry {
        var failures: [Failure] = []
        var lastFailure: NIODeadline
    }

    /// The policy in force.
    public let policy: AuthFailurePolicy
    private let now: @Sendable () -> NIODeadline
    /// Failures by client address (the IP address as text, without the port); guarded by its mutex.
    private let entries = Mutex<[String: Entry]>([:])

    /// Creates a tracker.
    ///
    /// - Parameters:
    ///   - policy: the delays and the memory.
    ///   - now: the monotonic clock (injected by tests).
    public init(
        policy: AuthFailurePolicy = AuthFailurePolicy(),
        now: @escaping @Sendable () -> NIODeadline = { .now() }
    ) {
        self.policy = policy
        self.now = now
    }

    /// Records a failed AUTH from `address`.
    ///
    /// - Parameters:
    ///   - address: the client's IP address as text.
    ///   - fingerprint: a keyed hash of the credential tried, when known; a failure with the same fingerprint as one
    ///     still remembered is not counted again.
    /// - Returns: the delay the address must now wait before its next attempt.
    @discardableResult
    public func recordFailure(from address: String, fingerprint: [UInt8]?) -> TimeAmount {
        let time = now()
        let policy = self.policy
        return entries.withLock { entries in
            var entry = entries[address] ?? Entry(lastFailure: time)
            Self.forgetOld(&entry, at: time, policy: policy)
            let repeated = fingerprint.map { print in entry.failures.contains { $0.fingerprint == print } } ?? false
            if !repeated {
                entry.failures.append(Failure(fingerprint: fingerprint, time: time))
                // More than enough to reach the maximum delay: keep the per-address memory bounded.
                if entry.failures.count > 64 { entry.failures.removeFirst(entry.failures.count - 64) }
            }
            entry.lastFailure = time
            if entries[address] == nil && entries.count >= policy.maximumTrackedAddresses {
                Self.evictOldest(&entries, at: time, policy: policy)
            }
            entries[address] = entry
            return policy.delay(forFailures: entry.failures.count)
        }
    }

    /// The delay `address` must wait now (at connection start, or before its next attempt).
    public func delay(for address: String) -> TimeAmount {
        let time = now()
        let policy = self.policy
        return entries.withLock { entries in
            guard var entry = entries[address] else { return .zero }
            Self.forgetOld(&entry, at: time, policy: policy)
            if entry.failures.isEmpty {
                entries[address] = nil
                return .zero
            }
            entries[address] = entry
            return policy.delay(forFailures: entry.failures.count)
        }
    }

    /// The number of failures remembered for `address`.
    public func failureCount(for address: String) -> Int {
        let time = now()
        let policy = self.policy
        return entries.withLock { entries in
            guard var entry = entries[address] else { return 0 }
            Self.forgetOld(&entry, at: time, policy: policy)
            return entry.failures.count
        }
    }

    /// The number of addresses currently tracked.
    public var trackedAddressCount: Int { entries.withLock { $0.count } }

    private static func forgetOld(_ entry: inout Entry, at time: NIODeadline, policy: AuthFailurePolicy) {
        entry.failures.removeAll { $0.time + policy.memory <= time }
    }

    /// Drops every expired address, and if still full, the one whose last failure is oldest.
    private static func evictOldest(_ entries: inout [String: Entry], at time: NIODeadline, policy: AuthFailurePolicy) {
        entries = entries.filter { $0.value.lastFailure + policy.memory > time }
        guard entries.count >= policy.maximumTrackedAddresses,
            let oldest = entries.min(by: { $0.value.lastFailure < $1.value.lastFailure })
        else { return }
        entries[oldest.key] = nil
    }
}
