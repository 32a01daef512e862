import Synchronization

/// The message bytes all connections of a server may hold in memory at once.
///
/// Each connection keeps the message it receives in memory until the sink has it; without a bound, 1,000 clients
/// each sending a 25 MiB message slowly could make the server hold 25 GiB. A connection reserves what its message
/// grows by; once the budget is spent its message is refused with 452 4.3.1 (the client tries again later) and what it
/// held is released.
package final class MessageMemoryBudget: Sendable {
    /// The bytes that may be held.
    package let limit: Int
    private let used = Atomic<Int>(0)

    /// A budget of `limit` bytes.
    package init(limit: Int) {
        self.limit = limit
    }

    /// The bytes reserved now.
    package var inUse: Int { used.load(ordering: .relaxed) }

    /// Takes `bytes` from the budget; `false` (and nothing taken) when fewer are left.
    package func reserve(_ bytes: Int) -> Bool {
        var current = used.load(ordering: .relaxed)
        while true {
            let (wanted, overflow) = current.addingReportingOverflow(bytes)
            guard !overflow, wanted <= limit else { return false }
            let (exchanged, original) = used.compareExchange(
                expected: current,
                desired: wanted,
                ordering: .relaxed
            )
            if exchanged { return true }
            current = original
        }
    }

    /// Gives `bytes` back.
    package func release(_ bytes: Int) {
        used.subtract(bytes, ordering: .relaxed)
    }
}
