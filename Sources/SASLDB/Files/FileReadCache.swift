import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Values read from a sasldb file, served again while the file is provably the one they were read from.
///
/// A daemon looks a user up at every AUTH; opening the database for each (format check, open, lock, read, close)
/// costs far more than the check itself. The cache keeps what each lookup found under the file's stamp (device, inode,
/// size, modification and change times, taken before the read) and answers a later lookup only when a fresh
/// `lstat` gives the same stamp, so every writer is seen at the next lookup: Cyrus's `saslpasswd2` writes in place
/// (new change time), ours renames a new file in (new inode), `chmod` and `touch` change the change time too.
///
/// **Racy reads.** Timestamps are coarse (a kernel tick on Linux, seconds or two on some filesystems): a write in the
/// same tick as the read before it can leave the stamp unchanged. Values are therefore kept only when the file's
/// change and modification times are at least ``settledNanoseconds`` older than the clock just before the `lstat`
/// (git's "racy clean" rule): any later write then carries a change time newer than the stamp. A file changed
/// within the last seconds is read anew at every lookup until it has settled.
///
/// Bounded: at most ``capacity`` entries; a new stamp or a full cache drops everything. The values stay in memory
/// while the file is unchanged, as in Dovecot's auth cache.
final class FileReadCache: Sendable {
    /// How much older than the reading clock a file's times must be for its values to be kept: beyond the coarsest
    /// timestamp granularity of the filesystems a store may sit on (FAT's two seconds).
    static let settledNanoseconds: Int64 = 3_000_000_000

    /// The most lookups kept.
    static let capacity = 4096

    /// The identity and times of one version of the file.
    struct Stamp: Equatable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modified: Int64
        var changed: Int64

        init(_ status: stat) {
            device = UInt64(status.st_dev)
            inode = UInt64(status.st_ino)
            size = Int64(status.st_size)
            modified = Int64(status.st_mtim.tv_sec) * 1_000_000_000 + Int64(status.st_mtim.tv_nsec)
            changed = Int64(status.st_ctim.tv_sec) * 1_000_000_000 + Int64(status.st_ctim.tv_nsec)
        }

        /// Whether no write after `now` (wall-clock nanoseconds) can leave the times as they are.
        func isSettled(at now: Int64) -> Bool {
            max(modified, changed) <= now - FileReadCache.settledNanoseconds
        }
    }

    private struct Key: Hashable {
        var user: UserID
        var properties: [Property]
    }

    private struct State {
        var stamp: Stamp?
        var entries: [Key: [Property: [UInt8]]] = [:]
        var reads = 0
    }

    private let state = Mutex(State())
    private let clock: @Sendable () -> Int64

    /// A cache reading the wall clock, or `clock` (nanoseconds since the epoch) in tests.
    init(clock: @escaping @Sendable () -> Int64 = FileReadCache.wallClock) {
        self.clock = clock
    }

    /// Wall-clock nanoseconds since the epoch, the time base of file timestamps.
    @Sendable static func wallClock() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    /// The clock reading to take before the `lstat` whose status a later ``store(_:user:properties:status:readAt:)``
    /// gets.
    func now() -> Int64 { clock() }

    /// What the lookup found when the file had `status`, if it is kept.
    func values(user: UserID, properties: [Property], status: stat) -> [Property: [UInt8]]? {
        let stamp = Stamp(status)
        return state.withLock { state in
            state.stamp == stamp ? state.entries[Key(user: user, properties: properties)] : nil
        }
    }

    /// Keeps what a lookup read from the file with `status`, taken after the clock read `readAt`; a file that has
    /// not settled keeps nothing.
    func store(_ values: [Property: [UInt8]], user: UserID, properties: [Property], status: stat, readAt: Int64) {
        let stamp = Stamp(status)
        state.withLock { state in
            state.reads += 1
            guard stamp.isSettled(at: readAt) else {
                state.stamp = nil
                state.entries = [:]
                return
            }
            if state.stamp != stamp || state.entries.count >= Self.capacity {
                state.stamp = stamp
                state.entries = [:]
            }
            state.entries[Key(user: user, properties: properties)] = values
        }
    }

    /// Drops every value (the file is gone).
    func removeAll() {
        state.withLock { state in
            state.stamp = nil
            state.entries = [:]
        }
    }

    /// How many lookups read the file (tests).
    var fileReads: Int { state.withLock { $0.reads } }
}
