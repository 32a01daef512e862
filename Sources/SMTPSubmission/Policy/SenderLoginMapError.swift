/// Why a sender login map could not be read: the line and an actionable sentence.
public struct SenderLoginMapError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The 1-based line number of the entry in the map's text.
    public var line: Int
    /// What is wrong with it.
    public var reason: String

    /// Creates an error.
    public init(line: Int, reason: String) {
        self.line = line
        self.reason = reason
    }

    public var description: String { "sender login map, line \(line): \(reason)" }
}
