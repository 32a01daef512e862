import ServerKit

extension SystemError {
    /// A temporary failure of a sink for a failed system call.
    static func temporary(_ operation: String, _ path: String, _ code: Int32) -> MessageSinkError {
        .temporary(reason: describe(operation, path, code))
    }
}
