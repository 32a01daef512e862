import Logging
import PasswordChange
import SASLDB
import SASLMechanisms
import ServerKit

/// Everything `sasl-smtpd` reads from its configuration file, after defaults and command-line overrides.
///
/// Every key, its default and its meaning are in ``DaemonConfiguration/keys`` and in `sasl-smtpd(8)`.
struct DaemonConfiguration: Equatable, Sendable {
    var hostname = SystemInfo.hostName
    var submissionListen = [ListenAddress(host: "127.0.0.1", port: 587)]
    var smtpsListen: [ListenAddress] = []
    var plainListen: [ListenAddress] = []
    var tlsCertificate = "/etc/sasl-smtpd/cert.pem"
    var tlsKey = "/etc/sasl-smtpd/key.pem"
    var tlsMinimumVersion = "1.2"
    var tlsCiphers = ServerTLSConfiguration.defaultCipherSuites
    /// The store: the site file's settings (`/etc/sasl2/sasldb.conf`), with this file's store keys over them.
    var store = StoreConfiguration()
    var mechanisms = MechanismPolicy.all
    var mechanismsWithoutTLS: [String] = []
    var requireTLS = true
    var digestMD5Hosts: [String] = []
    var sink = SinkSpecification.maildir(directory: "/var/spool/sasl-smtpd/Maildir")
    var sinkTimeout = 120
    var relayTLS = RelayTLSMode.auto
    var relayTLSName = ""
    var relayCAFile = ""
    var relayAuthFile = ""
    var senderLoginMap = ""
    var allowAnySender = false
    var allowNullSender = true
    var messageSizeLimit = 25 * 1024 * 1024
    var messageMemoryLimit = 512 * 1024 * 1024
    var chunking = true
    var recipientLimit = 100
    var messagesPerConnection = 100
    var commandTimeout = 300
    var authFailureLimit = 3
    var authFailureIPv4Prefix = 32
    var authFailureIPv6Prefix = 64
    var errorLimit = 20
    var maxConnections = 1000
    var maxConnectionsPerAddress = 20
    var drainTimeout = 30
    var receivedHeader = true
    var receivedHeaderClientAddress = true
    /// Off unless a web mailer needs it: the TCP listener cannot tell which local account connects, so any local user
    /// who knows another's current password could change it there (the local socket allows one's own account only).
    var poppassdListen: [ListenAddress] = []
    var poppassdTLSListen: [ListenAddress] = []
    var passwdSocket = "/run/sasl-smtpd/passwd.sock"
    /// A socket-activated password writer to connect to; empty to start one as a root child.
    var passwordWriterSocket = ""
    var poppassdTimeout = 120
    var passwordMinLength = PasswordPolicy.defaultMinimumLength
    var passwordMaxLength = PasswordPolicy.defaultMaximumLength
    var passwordCommonList = ""
    /// `password_source*`, `pam_service`, `pam_threads`.
    var passwordSources = PasswordSourceSettings()
    /// Off unless set: the saslauthd sockets and the group and mode of the directories that guard them.
    var saslauthdSocket: [String] = []
    var saslauthdSocketGroup = ""
    var saslauthdSocketMode = 0o710
    var user = "sasl-smtpd"
    var group = ""
    var logLevel = Logger.Level.info
    var dovecotAuth = DovecotAuthSettings()

    /// The database file, or the URL of a PostgreSQL store (`sasldb_path`).
    var sasldbPath: String { store.filePath }

    /// `default_realm`; empty for the host name.
    var defaultRealm: String {
        get { store.defaultRealm ?? "" }
        set { store.defaultRealm = newValue.isEmpty ? nil : newValue }
    }

    /// The PBKDF2 count of SCRAM for users stored with a plaintext only, and of the verifiers a change writes.
    var scramIterations: Int {
        get { store.secretPolicy.scramIterations }
        set { store.secretPolicy.scramIterations = newValue }
    }

    /// The realm of login names without `@`: ``defaultRealm``, else ``hostname``.
    var effectiveRealm: String { store.realm(hostName: hostname) }

    /// The keys of this file that override a store setting of the site file.
    static let storeKeys: [String: StoreSetting] = [
        "sasldb_path": .location, "database_format": .newFileFormat, "secrets": .secrets,
        "scram_iterations": .scramIterations, "default_realm": .defaultRealm,
    ]

    /// Every mechanism name the library implements (the `-PLUS` variants need TLS channel bindings).
    static let knownMechanisms = SASLMechanismFactory.names

    /// The configuration from `entries` (a file, then `--set` and option overrides, later ones winning) over the
    /// store settings of `site`.
    ///
    /// - Throws: ``ConfigurationError`` naming the entry at fault, or the site file's line (exit 78).
    init(entries: [ConfigurationEntry], site: SiteConfiguration) throws(ConfigurationError) {
        do throws(SiteConfigurationError) {
            store = try StoreConfiguration(site: site)
        } catch {
            throw ConfigurationError(site: error)
        }
        var byKey: [String: ConfigurationEntry] = [:]
        for entry in entries { byKey[entry.key] = entry }
        for entry in byKey.values where Self.key(named: entry.key) == nil {
            throw ConfigurationError(source: entry.source, line: entry.line, "unknown key \(entry.key)")
        }
        for key in Self.keys {
            guard let entry = byKey[key.name] else { continue }
            do throws(ConfigurationError) {
                try key.apply(&self, entry.value)
            } catch {
                throw ConfigurationError(source: entry.source, line: entry.line, "\(key.name): \(error.message)")
            }
            if let setting = Self.storeKeys[key.name] {
                store.origins[setting] = entry.line.map { "\(entry.source):\($0)" } ?? entry.source
            }
        }
    }

    /// The defaults alone, without a site file.
    init() {}

    /// The key named `name`.
    static func key(named name: String) -> ConfigurationKey? { keys.first { $0.name == name } }

    /// `key = value` lines for every key, in the documented order: what `--check-config` prints. The configuration
    /// holds no secret (paths only, `relay_auth_file` included), so nothing is masked.
    var effectiveText: String {
        Self.keys.map { key in
            let value = key.render(self)
            return value.isEmpty ? "\(key.name) =" : "\(key.name) = \(value)"
        }.joined(separator: "\n")
    }

    /// The keys whose values differ between `self` and `other` and that only a restart applies.
    func restartKeysChanged(from other: DaemonConfiguration) -> [String] {
        Self.keys.filter { $0.needsRestart && $0.render(self) != $0.render(other) }.map(\.name)
    }
}
