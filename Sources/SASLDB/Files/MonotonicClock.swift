#if canImport(Glibc)
import Glibc
#endif

/// Milliseconds on the monotonic clock, and short sleeps, for bounded waits.
enum MonotonicClock {
    /// Milliseconds since an arbitrary fixed point.
    static func milliseconds() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return now.tv_sec * 1000 + now.tv_nsec / 1_000_000
    }

    /// Sleeps for `microseconds`.
    static func sleep(microseconds: Int) {
        var request = timespec(tv_sec: microseconds / 1_000_000, tv_nsec: (microseconds % 1_000_000) * 1000)
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}
