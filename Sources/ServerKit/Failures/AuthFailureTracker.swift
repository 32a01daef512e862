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
    /// The longest delay: 15 seconds by default, below the time common clients wait for a reply (20 s and more), so
    /// that an innocent user behind an address others fail from (an office NAT) is slowed, not timed out. Dovecot caps
    /// its penalty there too; the per-account count carries the rest of the defence.
    public var maximumDelay: TimeAmount
    /// How long a failure is remembered: older failures stop counting (the count decays).
    public var memory: TimeAmount
    /// At most this many addresses are tracked; when full, the address whose last failure is oldest is forgotten.
    /// Bounds the tracker's memory against a flood of spoofed or rotating addresses.
    public var maximumTrackedAddresses: Int
    /// The leading bits of an IPv4 address its failures are counted under: 32 (each address apart) by default; 24
    /// counts a /24 as one client.
    public var ipv4PrefixLength: Int
    /// The leading bits of an IPv6 address its failures are counted under: 64 by default, since a host may take any
    /// address of its /64.
    public var ipv6PrefixLength: Int

    /// Creates a policy.
    ///
    /// - Parameters:
    ///   - freeFailures: failures forgiven before any delay.
    ///   - baseDelay: the first delay, doubled per further failure.
    ///   - maximumDelay: the cap of the delay.
    ///   - memory: how long a failure counts.
    ///   - maximumTrackedAddresses: the bound on tracked addresses.
    ///   - ipv4PrefixLength: the IPv4 network counted as one client (0 to 32).
    ///   - ipv6PrefixLength: the IPv6 network counted as one client (0 to 128).
    public init(
        freeFailures: Int = 1,
        baseDelay: TimeAmount = .seconds(1),
        maximumDelay: TimeAmount = .seconds(15),
        memory: TimeAmount = .minutes(15),
        maximumTrackedAddresses: Int = 10_000,
        ipv4PrefixLength: Int = 32,
        ipv6PrefixLength: Int = 64
    ) {
        self.freeFailures = max(0, freeFailures)
        self.baseDelay = baseDelay
        self.maximumDelay = maximumDelay
        self.memory = memory
        self.maximumTrackedAddresses = max(1, maximumTrackedAddresses)
        self.ipv4PrefixLength = min(max(ipv4PrefixLength, 0), 32)
        self.ipv6PrefixLength = min(max(ipv6PrefixLength, 0), 128)
    }

    /// The key the failures of client `address` are counted under: its network of ``ipv4PrefixLength`` or
    /// ``ipv6PrefixLength`` bits.
    public func clientKey(for address: String) -> String {
        ClientAddressGroup.key(
            for: address,
            ipv4PrefixLength: ipv4PrefixLength,
            ipv6PrefixLength: ipv6PrefixLength
        )
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

    /// The keys in the order of their failures, oldest first, for eviction without a scan: each failure appends its
    /// key; an item is current while its time is its key's last failure, and stale items are skipped (and compacted
    /// away once they are the majority), so one failure costs O(1) amortised however many keys are held.
    private struct Order {
        var items: [(key: String, time: NIODeadline)] = []
        var head = 0

        mutating func append(_ key: String, _ time: NIODeadline) {
            items.append((key, time))
        }

        /// Removes from `entries` the key whose last failure is oldest.
        mutating func evictOldest(from entries: inout [String: Entry]) {
            while head < items.count {
                let item = items[head]
                head += 1
                if let entry = entries[item.key], entry.lastFailure == item.time {
                    entries[item.key] = nil
                    return
                }
            }
        }

        /// Drops consumed and stale items once they outnumber the live ones, so the order stays O(keys) in size.
        mutating func compact(liveCount: Int, entries: [String: Entry]) {
            guard items.count > 2 * liveCount + 64 else { return }
            items = items[head...].filter { entries[$0.key]?.lastFailure == $0.time }
            head = 0
        }
    }

    /// The failures and their order, guarded together.
    private struct State {
        var entries: [String: Entry] = [:]
        var order = Order()
    }

    /// The policy in force.
    public let policy: AuthFailurePolicy
    private let now: @Sendable () -> NIODeadline
    /// Failures by key (a client's network as ``AuthFailurePolicy/clientKey(for:)`` gives it, or an account name).
    private let state = Mutex(State())

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
        return state.withLock { state in
            var entry = state.entries[address] ?? Entry(lastFailure: time)
            Self.forgetOld(&entry, at: time, policy: policy)
            let repeated = fingerprint.map { print in entry.failures.contains { $0.fingerprint == print } } ?? false
            if !repeated {
                entry.failures.append(Failure(fingerprint: fingerprint, time: time))
                // More than enough to reach the maximum delay: keep the per-address memory bounded.
                if entry.failures.count > 64 { entry.failures.removeFirst(entry.failures.count - 64) }
            }
            entry.lastFailure = time
            if state.entries[address] == nil && state.entries.count >= policy.maximumTrackedAddresses {
                state.order.evictOldest(from: &state.entries)
            }
            state.entries[address] = entry
            state.order.append(address, time)
            state.order.compact(liveCount: state.entries.count, entries: state.entries)
            return policy.delay(forFailures: entry.failures.count)
        }
    }

    /// The delay `address` must wait now (at connection start, or before its next attempt).
    public func delay(for address: String) -> TimeAmount {
        let time = now()
        let policy = self.policy
        return state.withLock { state in
            guard var entry = state.entries[address] else { return .zero }
            Self.forgetOld(&entry, at: time, policy: policy)
            if entry.failures.isEmpty {
                state.entries[address] = nil
                return .zero
            }
            state.entries[address] = entry
            return policy.delay(forFailures: entry.failures.count)
        }
    }

    /// The number of failures remembered for `address`.
    public func failureCount(for address: String) -> Int {
        let time = now()
        let policy = self.policy
        return state.withLock { state in
            guard var entry = state.entries[address] else { return 0 }
            Self.forgetOld(&entry, at: time, policy: policy)
            return entry.failures.count
        }
    }

    /// The number of addresses currently tracked.
    public var trackedAddressCount: Int { state.withLock { $0.entries.count } }

    private static func forgetOld(_ entry: inout Entry, at time: NIODeadline, policy: AuthFailurePolicy) {
        entry.failures.removeAll { $0.time + policy.memory <= time }
    }
}
