#if canImport(Glibc)
import Glibc
#endif

/// Unbuffered writes to standard output and standard error: each JSON line must reach the harness at once.
enum Console {
    /// Writes `text` to file descriptor `fd` (1: standard output, 2: standard error).
    static func write(_ text: String, to fd: Int32 = 1) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            guard written > 0 else { return }
            bytes = bytes.dropFirst(written)
        }
    }
}
