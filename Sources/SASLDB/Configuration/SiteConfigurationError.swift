/// A site configuration file that cannot be used, naming the file and line at fault.
///
/// Every entry point stops on it (exit 78, `EX_CONFIG`) before touching a store: a typo must never turn a setting such
/// as "no plaintext" off silently.
public struct SiteConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file, as the user named it.
    public var source: String
    /// The line at fault, from 1; `nil` when the fault is the file itself (unreadable, not text).
    public var line: Int?
    /// What is wrong, as a sentence an administrator can act on.
    public var message: String

    /// Creates an error.
    public init(source: String, line: Int?, _ message: String) {
        self.source = source
        self.line = line
        self.message = message
    }

    public var description: String {
        guard let line else { return "\(source): \(message)" }
        return "\(source):\(line): \(message)"
    }
}
