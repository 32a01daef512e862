import CSystemShims

#if canImport(Glibc)
import Glibc
#endif

/// The writers' lock: an exclusive open-file-description lock on the database file itself.
///
/// OFD locks are independent of the `flock` locks libgdbm takes, so holding one never makes a Cyrus or GDBM reader fail;
/// they only order writers of ours. Because every write replaces the file by rename, a writer that waited re-checks
/// that the locked file is still the one at the path.
enum WriterLock {
    /// Takes the lock on `fd`, retrying until `deadline` (monotonic milliseconds).
    ///
    /// - Throws: ``SASLDBError/busy(path:waitedMilliseconds:)`` when the deadline passes.
    static func acquire(fd: Int32, path: String, exclusive: Bool, startedAt: Int, deadline: Int) throws {
        var pause = 200
        while true {
            if sasldb_ofd_lock(fd, exclusive ? 1 : 0, 0) == 0 { return }
            let code = errno
            guard code == EAGAIN || code == EACCES || code == EINTR else {
                throw SASLDBError.io(path: path, operation: "lock", errno: code)
            }
            let now = MonotonicClock.milliseconds()
            if now >= deadline { throw SASLDBError.busy(path: path, waitedMilliseconds: now - startedAt) }
            MonotonicClock.sleep(microseconds: pause)
            pause = min(pause * 2, 20_000)
        }
    }

    /// Takes a shared `flock` lock as libgdbm's readers do, so a Cyrus GDBM writer cannot change the file in place
    /// while we copy it (it fails at once instead of losing its change).
    static func holdGDBMReaderLock(fd: Int32, path: String, startedAt: Int, deadline: Int) throws {
        var pause = 200
        while flock(fd, LOCK_SH | LOCK_NB) != 0 {
            let code = errno
            guard code == EWOULDBLOCK || code == EINTR else {
                throw SASLDBError.io(path: path, operation: "lock", errno: code)
            }
            let now = MonotonicClock.milliseconds()
            if now >= deadline { throw SASLDBError.busy(path: path, waitedMilliseconds: now - startedAt) }
            MonotonicClock.sleep(microseconds: pause)
            pause = min(pause * 2, 20_000)
        }
    }
}
