/// Why ``ExclusivePort/claim(_:)`` could not bind: the address and the system's reason.
package struct ExclusivePortError: Error, CustomStringConvertible {
    /// The address and the system's reason.
    package let description: String

    init(_ description: String) { self.description = description }
}
