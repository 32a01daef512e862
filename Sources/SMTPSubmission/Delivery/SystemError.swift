#if canImport(Glibc)
import Glibc
#endif

/// Text for the reason of a ``MessageSinkError``: what failed, on what, and the system's word for `errno`.
enum SystemError {
    /// `"rename /spool/tmp/x: No space left on device"`.
    static func describe(_ operation: String, _ path: String, _ code: Int32) -> String {
        "\(operation) \(path): \(String(cString: strerror(code)))"
    }

    /// A temporary failure for a failed system call.
    static func temporary(_ operation: String, _ path: String, _ code: Int32) -> MessageSinkError {
        .temporary(reason: describe(operation, path, code))
    }
}
