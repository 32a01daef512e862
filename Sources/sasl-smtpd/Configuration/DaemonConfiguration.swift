import Logging
import PasswordChange
import SASLMechanisms

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
    var sasldbPath = "/etc/sasldb2"
    var defaultRealm = ""
    var mechanisms = MechanismPolicy.all
    var mechanismsWithoutTLS: [String] = []
    var requireTLS = true
    var digestMD5Hosts: [String] = []
    var scramIterations = 4096
    var sink = SinkSpecification.maildir(directory: "/var/spool/sasl-smtpd/Maildir")
    var sinkTimeout = 120
    var senderLoginMap = ""
    var allowAnySender = false
    var allowNullSender = true
    var messageSizeLimit = 25 * 1024 * 1024
    var chunking = true
    var recipientLimit = 100
    var messagesPerConnection = 100
    var commandTimeout = 300
    var authFailureLimit = 3
    var errorLimit = 20
    var maxConnections = 1000
    var maxConnectionsPerAddress = 20
    var drainTimeout = 30
    var receivedHeader = true
    var receivedHeaderClientAddress = true
    var poppassdListen = [ListenAddress(host: "127.0.0.1", port: 106)]
    var poppassdTLSListen: [ListenAddress] = []
    var passwdSocket = "/run/sasl-smtpd/passwd.sock"
    var poppassdTimeout = 120
    var passwordMinLength = PasswordPolicy.defaultMinimumLength
    var passwordMaxLength = PasswordPolicy.defaultMaximumLength
    var passwordCommonList = ""
    var user = "sasl-smtpd"
    var group = ""
    var logLevel = Logger.Level.info

    /// The realm of login names without `@`: ``defaultRealm``, else ``hostname``.
    var effectiveRealm: String { defaultRealm.isEmpty ? hostname : defaultRealm }

    /// Every mechanism name the library implements (the `-PLUS` variants need TLS channel bindings).
    static let knownMechanisms = SASLMechanismFactory.names

    /// The configuration from `entries` (a file, then `--set` and option overrides, later ones winning).
    init(entries: [ConfigurationEntry]) throws(ConfigurationError) {
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
        }
    }

    /// The defaults alone.
    init() {}

    /// The key named `name`.
    static func key(named name: String) -> ConfigurationKey? { keys.first { $0.name == name } }

    /// `key = value` lines for every key, in the documented order: what `--check-config` prints. The configuration
    /// holds no secret (paths only), so nothing is masked.
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
