#if canImport(Glibc)
import Glibc
#endif

/// Text for the reason of a failed system call: what failed, on what, and the system's word for `errno`.
package enum SystemError {
    /// `"rename /spool/tmp/x: No space left on device"`.
    package static func describe(_ operation: String, _ path: String, _ code: Int32) -> String {
        "\(operation) \(path): \(String(cString: strerror(code)))"
    }
}
