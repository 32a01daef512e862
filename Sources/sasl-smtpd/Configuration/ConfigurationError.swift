/// A configuration that cannot be used, with a sentence that says where and what to change.
struct ConfigurationError: Error, Equatable, CustomStringConvertible {
    /// The message, starting with the file and line when there is one.
    var message: String

    /// Creates an error with a complete message.
    init(_ message: String) { self.message = message }

    /// An error at `line` of `source` (a path, or `--set`).
    init(source: String, line: Int?, _ message: String) {
        self.message = line.map { "\(source), line \($0): \(message)" } ?? "\(source): \(message)"
    }

    var description: String { message }
}
