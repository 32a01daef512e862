#if canImport(Glibc)
import Glibc
#endif

/// Buffered writes to the standard streams without Foundation.
enum Output {
    /// Writes `text` to standard error, unbuffered.
    static func error(_ text: String) {
        writeAll(2, Array(text.utf8))
    }

    /// Writes `text` to standard output.
    static func standard(_ text: String) {
        writeAll(1, Array(text.utf8))
    }

    /// Writes all of `bytes` to `fd`, retrying short writes; returns `errno` of a failed write, or 0.
    @discardableResult
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Int32 {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(fd, raw.baseAddress.map { $0 + offset }, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                offset += written
            }
            return 0
        }
    }
}

/// Collects output in memory and writes it in large blocks: listing 100,000 users line by line with one write each
/// would cost more than reading the database.
struct OutputBuffer {
    private var bytes: [UInt8] = []
    private let fd: Int32

    init(fd: Int32 = 1) {
        self.fd = fd
        bytes.reserveCapacity(1 << 16)
    }

    mutating func append(_ text: String) {
        bytes.append(contentsOf: text.utf8)
        if bytes.count >= 1 << 16 { flush() }
    }

    mutating func append(bytes more: some Collection<UInt8>) {
        bytes.append(contentsOf: more)
        if bytes.count >= 1 << 16 { flush() }
    }

    mutating func flush() {
        Output.writeAll(fd, bytes)
        bytes.removeAll(keepingCapacity: true)
    }
}
