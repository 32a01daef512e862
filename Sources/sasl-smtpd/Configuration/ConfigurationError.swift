import SASLDB

/// A configuration that cannot be used, with a sentence that says where and what to change.
struct ConfigurationError: Error, Equatable, CustomStringConvertible {
    /// The message, starting with the file and line when there is one.
    var message: String
    /// The exit status: 1 for this daemon's own configuration (as `--check-config` reports it), 78 (`EX_CONFIG`) for
    /// the site file every sasldb program reads, as every command exits on it.
    var exitCode: Int32 = 1

    /// Creates an error with a complete message.
    init(_ message: String) { self.message = message }

    /// The site file's error, naming its file and line.
    init(site error: SiteConfigurationError) {
        message = "\(error)"
        exitCode = 78
    }

    /// An error at `line` of `source` (a path, or `--set`).
    init(source: String, line: Int?, _ message: String) {
        self.message = line.map { "\(source), line \($0): \(message)" } ?? "\(source): \(message)"
    }

    var description: String { message }
}
