import SASLDB
import Synchronization

/// The `login NUL password` bytes a password mechanism keeps for ``SASLServerMechanism/withRetryMaterial(_:)``.
///
/// A reference shared by every copy of the mechanism, so that one erase overwrites the one buffer: were the bytes a
/// plain value, a driver's copy of the mechanism would keep the buffer alive and the erase would zero a fresh copy
/// instead (copy on write). The mutex makes the shared reference `Sendable`; it is never contended in practice, since
/// one attempt runs one step at a time.
final class RetryMaterial: Sendable {
    private let bytes = Mutex<[UInt8]>([])

    init() {}

    deinit { erase() }

    /// Replaces the material with `login NUL password`, erasing what was there.
    func store(login: [UInt8], password: some Collection<UInt8>) {
        bytes.withLock { bytes in
            Self.erase(&bytes)
            bytes.reserveCapacity(login.count + 1 + password.count)
            bytes += login
            bytes.append(0)
            bytes += password
        }
    }

    /// Lends the material to `body`; `nil` when there is none.
    func withBytes<Result>(_ body: ([UInt8]) -> Result) -> Result? {
        bytes.withLock { $0.isEmpty ? nil : body($0) }
    }

    /// Overwrites the material with zeros and drops it.
    func erase() {
        bytes.withLock { Self.erase(&$0) }
    }

    private static func erase(_ bytes: inout [UInt8]) {
        bytes.overwriteWithZeros()
        bytes.removeAll()
    }
}
