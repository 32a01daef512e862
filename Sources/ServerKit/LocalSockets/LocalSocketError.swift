/// Why a service's Unix-domain socket file cannot be used: the path holds something that is not a socket, or it
/// cannot be removed or opened to local users. `description` names the path and the system's reason.
package struct LocalSocketError: Error, Sendable, CustomStringConvertible {
    /// What failed, on which path.
    package var detail: String

    /// Creates an error with its detail.
    package init(_ detail: String) {
        self.detail = detail
    }

    package var description: String { detail }
}
