import PasswordChange
import SASLDB

/// Where the configuration comes from: a file, the site's store file and the command line's overrides, read again on
/// SIGHUP.
struct ConfigurationSource: Sendable {
    /// The configuration file.
    var path: String
    /// The site file of every sasldb program (`/etc/sasl2/sasldb.conf`, or `$SASLDB_CONFIG`), whose store settings
    /// this file's may override.
    var sitePath: String
    /// `--set key=value` and the named options, applied after the file in this order.
    var overrides: [ConfigurationEntry]

    /// Reads and checks the configuration.
    ///
    /// - Returns: the configuration and its warnings.
    /// - Throws: ``ConfigurationError`` naming the file, line and key at fault.
    func load() throws(ConfigurationError) -> (DaemonConfiguration, [String]) {
        let text = try ConfigurationFile.read(path)
        let entries = try ConfigurationFile.parse(text, source: path)
        let configuration = try DaemonConfiguration(entries: entries + overrides, site: try Self.readSite(sitePath))
        let warnings = try configuration.validate()
        return (configuration, warnings)
    }

    /// The site file at `path` (empty when there is none).
    static func readSite(_ path: String) throws(ConfigurationError) -> SiteConfiguration {
        do throws(SiteConfigurationError) {
            return try SiteConfiguration(contentsOf: path, knownKeys: PasswordPolicy.SettingName.siteFileKeys)
        } catch {
            throw ConfigurationError(site: error)
        }
    }
}
