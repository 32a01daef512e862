import Synchronization

/// A value set once after the closure that reads it was made: the SMTP server's `beforeAccepting` hook waits for the
/// saslauthd sockets, whose server is made after the SMTP server because it counts failures in that server's tracker.
final class LateValue<Value: Sendable>: Sendable {
    private let storage = Mutex<Value?>(nil)

    /// The value, `nil` until ``set(_:)``.
    var value: Value? { storage.withLock { $0 } }

    /// Sets the value.
    func set(_ value: Value?) {
        storage.withLock { $0 = value }
    }
}
