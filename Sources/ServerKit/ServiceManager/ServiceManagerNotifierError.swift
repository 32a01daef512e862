#if canImport(Glibc)
import Glibc
#endif

/// A notification that could not be sent: the call that failed and the system's reason.
package struct ServiceManagerNotifierError: Error, CustomStringConvertible {
    /// What failed and why.
    package var description: String

    /// An error with its text.
    package init(description: String) {
        self.description = description
    }

    /// A failed system call `operation` with `errno` `code`.
    package init(operation: String, code: Int32) {
        description = "\(operation): \(String(cString: strerror(code)))"
    }
}
