/// A PostgreSQL location that cannot be used, as a sentence an administrator can act on.
public struct PostgresLocationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What is wrong.
    public var message: String

    /// Creates an error.
    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
