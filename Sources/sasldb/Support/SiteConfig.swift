import PasswordChange
import SASLDB

#if canImport(Glibc)
import Glibc
#endif

/// The site's settings for every sasldb command, so a choice such as "no plaintext on disk" is made once.
///
/// Read from `$SASLDB_CONFIG`, else `/etc/sasl2/sasldb.conf`, in the `key: value` syntax of Cyrus's own files.
/// Command-line options win over it. The store's keys are ``StoreSetting``'s (`sasldb_path`, `database_format`,
/// `secrets` or `no_plaintext`, `scram_iteration_counter`, `default_realm`); `passwd` and `chgsaslpasswd` read the
/// `password_*` policy settings (`PasswordPolicy.SettingName`) and `passwd_socket` too. A file that cannot be parsed
/// stops every command with exit 78 naming the file and line, before any store is touched.
struct SiteConfig: Sendable {
    /// The file as read (empty when there is none).
    let file: SiteConfiguration
    /// The store settings of this run: the file's, with `$SASLDB_PATH` over its `sasldb_path`.
    let store: StoreConfiguration

    /// The configuration of this run, read once; a broken file ends the process with exit 78.
    static let current: SiteConfig = loadOrExit()

    private static func loadOrExit() -> SiteConfig {
        do throws(SiteConfigurationError) {
            return try load()
        } catch {
            Output.error("sasldb: \(error)\n")
            exit(78)  // EX_CONFIG
        }
    }

    private static func load() throws(SiteConfigurationError) -> SiteConfig {
        let path = Host.environment("SASLDB_CONFIG") ?? SiteConfiguration.defaultPath
        let file = try SiteConfiguration(contentsOf: path, knownKeys: PasswordPolicy.SettingName.siteFileKeys)
        var store = try StoreConfiguration(site: file, newFileFormat: DatabaseFormat.systemDefault)
        if let path = Host.environment("SASLDB_PATH") {
            store.override(.location, origin: "$SASLDB_PATH") { $0.location = .file(path: path) }
        }
        return SiteConfig(file: file, store: store)
    }

    /// Whether `arguments` only ask for help or the version, which never need the site configuration.
    static func isHelpOrVersion(_ arguments: [String]) -> Bool {
        arguments.contains { ["-h", "--help", "-?", "help", "--version", "-v"].contains($0) }
    }
}
