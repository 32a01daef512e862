/// Where the configuration comes from: a file and the command line's overrides, read again on SIGHUP.
struct ConfigurationSource: Sendable {
    /// The configuration file.
    var path: String
    /// `--set key=value` and the named options, applied after the file in this order.
    var overrides: [ConfigurationEntry]

    /// Reads and checks the configuration.
    ///
    /// - Returns: the configuration and its warnings.
    /// - Throws: ``ConfigurationError`` naming the file, line and key at fault.
    func load() throws(ConfigurationError) -> (DaemonConfiguration, [String]) {
        let text = try ConfigurationFile.read(path)
        let entries = try ConfigurationFile.parse(text, source: path)
        let configuration = try DaemonConfiguration(entries: entries + overrides)
        let warnings = try configuration.validate()
        return (configuration, warnings)
    }
}
