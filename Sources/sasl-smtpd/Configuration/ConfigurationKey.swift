import Logging
import PasswordChange
import SASLDB
import ServerKit

/// One configuration key: its name, how it is read into a ``DaemonConfiguration`` and written back.
struct ConfigurationKey: Sendable {
    /// The key as written in the file.
    var name: String
    /// Whether a change needs a restart (SIGHUP cannot apply it).
    var needsRestart: Bool
    /// Reads a value.
    var apply: @Sendable (inout DaemonConfiguration, String) throws(ConfigurationError) -> Void
    /// Writes the current value.
    var render: @Sendable (DaemonConfiguration) -> String
}

extension DaemonConfiguration {
    /// Every key, in the order of `--check-config`.
    static let keys: [ConfigurationKey] = generalKeys + passwordSourceKeys + dovecotAuthKeys + saslauthdKeys

    /// The keys declared here, in the order of `sasl-smtpd(8)`; the features in files of their own add theirs.
    private static let generalKeys: [ConfigurationKey] = [
        text("hostname", \.hostname, nonEmpty: true),
        listen("submission_listen", \.submissionListen),
        listen("smtps_listen", \.smtpsListen),
        listen("plain_listen", \.plainListen),
        path("tls_certificate", \.tlsCertificate),
        path("tls_key", \.tlsKey),
        ConfigurationKey(
            name: "tls_minimum_version",
            needsRestart: false,
            apply: { configuration, value throws(ConfigurationError) in
                guard value == "1.2" || value == "1.3" else { throw ConfigurationError("expected 1.2 or 1.3") }
                configuration.tlsMinimumVersion = value
            },
            render: { $0.tlsMinimumVersion }
        ),
        ConfigurationKey(
            name: "tls_ciphers",
            needsRestart: false,
            apply: { configuration, value throws(ConfigurationError) in
                let unknown = ServerTLSConfiguration.unknownCipherSuites(in: value)
                guard unknown.isEmpty else {
                    throw ConfigurationError(
                        "unknown cipher suite \(unknown.joined(separator: " ")) (known: "
                            + ServerTLSConfiguration.knownCipherSuites.joined(separator: " ") + ")"
                    )
                }
                configuration.tlsCiphers = value
            },
            render: { $0.tlsCiphers }
        ),
        storeLocationKey,
        ConfigurationKey(
            name: "database_format",
            needsRestart: false,
            apply: { configuration, value throws(ConfigurationError) in
                guard let format = DatabaseFormat(name: value) else { throw ConfigurationError("expected gdbm or bdb") }
                configuration.store.newFileFormat = format
            },
            render: { $0.store.newFileFormat.name }
        ),
        ConfigurationKey(
            name: "secrets",
            needsRestart: false,
            apply: { configuration, value throws(ConfigurationError) in
                do {
                    var policy = try SecretPolicy(parsingList: value)
                    policy.scramIterations = configuration.scramIterations
                    try policy.validate()
                    configuration.store.secretPolicy = policy
                } catch {
                    throw ConfigurationError("\(error)")
                }
            },
            render: { $0.store.secretPolicy.description }
        ),
        text("default_realm", \.defaultRealm, nonEmpty: false),
        mechanisms("mechanisms", \.mechanisms),
        mechanisms("mechanisms_without_tls", \.mechanismsWithoutTLS),
        flag("require_tls", \.requireTLS),
        ConfigurationKey(
            name: "digest_md5_hosts",
            needsRestart: false,
            apply: { configuration, value throws(ConfigurationError) in
                configuration.digestMD5Hosts = words(value)
            },
            render: { $0.digestMD5Hosts.joined(separator: " ") }
        ),
        number("scram_iterations", \.scramIterations, 1...SecretPolicy.maximumSCRAMIterations),
        ConfigurationKey(
            name: "sink",
            needsRestart: true,
            apply: { configuration, value throws(ConfigurationError) in
                configuration.sink = try SinkSpecification(parsing: value)
            },
            render: { $0.sink.description }
        ),
        number("sink_timeout", \.sinkTimeout, 1...3600, needsRestart: true),
        ConfigurationKey(
            name: "relay_tls",
            needsRestart: true,
            apply: { configuration, value throws(ConfigurationError) in
                guard let mode = RelayTLSMode(rawValue: value.lowercased()) else {
                    throw ConfigurationError("expected auto, required or none")
                }
                configuration.relayTLS = mode
            },
            render: { $0.relayTLS.rawValue }
        ),
        text("relay_tls_name", \.relayTLSName, nonEmpty: false, needsRestart: true),
        path("relay_ca_file", \.relayCAFile, emptyMeans: "the system's trusted roots", needsRestart: true),
        path("relay_auth_file", \.relayAuthFile, emptyMeans: "no AUTH", needsRestart: true),
        path("sender_login_map", \.senderLoginMap, emptyMeans: "no map"),
        flag("allow_any_sender", \.allowAnySender),
        flag("allow_null_sender", \.allowNullSender),
        number("message_size_limit", \.messageSizeLimit, 1024...(1 << 30)),
        number("message_memory_limit", \.messageMemoryLimit, 1024...(1 << 40), needsRestart: true),
        flag("chunking", \.chunking),
        number("recipient_limit", \.recipientLimit, 1...10_000),
        number("messages_per_connection", \.messagesPerConnection, 1...100_000),
        number("command_timeout", \.commandTimeout, 1...3600),
        number("auth_failure_limit", \.authFailureLimit, 1...100),
        number("auth_failure_ipv4_prefix", \.authFailureIPv4Prefix, 8...32, needsRestart: true),
        number("auth_failure_ipv6_prefix", \.authFailureIPv6Prefix, 16...128, needsRestart: true),
        number("error_limit", \.errorLimit, 1...1000),
        number("max_connections", \.maxConnections, 1...1_000_000, needsRestart: true),
        number("max_connections_per_address", \.maxConnectionsPerAddress, 1...1_000_000, needsRestart: true),
        number("drain_timeout", \.drainTimeout, 0...3600, needsRestart: true),
        flag("received_header", \.receivedHeader),
        flag("received_header_client_address", \.receivedHeaderClientAddress),
        listen("poppassd_listen", \.poppassdListen),
        listen("poppassd_tls_listen", \.poppassdTLSListen),
        path("passwd_socket", \.passwdSocket, emptyMeans: "no socket", needsRestart: true),
        path("password_writer_socket", \.passwordWriterSocket, emptyMeans: "a root child", needsRestart: true),
        number("poppassd_timeout", \.poppassdTimeout, 5...3600, needsRestart: true),
        number(
            PasswordPolicy.SettingName.minimumLength,
            \.passwordMinLength,
            1...CredentialStore.maximumPasswordLength
        ),
        number(
            PasswordPolicy.SettingName.maximumLength,
            \.passwordMaxLength,
            1...CredentialStore.maximumPasswordLength
        ),
        path(PasswordPolicy.SettingName.commonList, \.passwordCommonList, emptyMeans: "the built-in list only"),
        text("user", \.user, nonEmpty: false, needsRestart: true),
        text("group", \.group, nonEmpty: false, needsRestart: true),
        ConfigurationKey(
            name: "log_level",
            needsRestart: false,
            apply: { configuration, value throws(ConfigurationError) in
                guard let level = Logger.Level(rawValue: value.lowercased()) else {
                    throw ConfigurationError("expected trace, debug, info, notice, warning, error or critical")
                }
                configuration.logLevel = level
            },
            render: { $0.logLevel.rawValue }
        ),
    ]

    // MARK: - Kinds of keys

    static func text(
        _ name: String,
        _ field: WritableKeyPath<DaemonConfiguration, String> & Sendable,
        nonEmpty: Bool,
        needsRestart: Bool = false
    ) -> ConfigurationKey {
        ConfigurationKey(
            name: name,
            needsRestart: needsRestart,
            apply: { configuration, value throws(ConfigurationError) in
                guard !(nonEmpty && value.isEmpty) else { throw ConfigurationError("cannot be empty") }
                guard !value.contains(where: { $0.isWhitespace || $0.asciiValue.map { $0 < 0x20 } == true }) else {
                    throw ConfigurationError("cannot hold blanks or control characters")
                }
                configuration[keyPath: field] = value
            },
            render: { $0[keyPath: field] }
        )
    }

    /// An absolute path; with `emptyMeans`, an empty value is allowed too and means that (the feature is off).
    static func path(
        _ name: String,
        _ field: WritableKeyPath<DaemonConfiguration, String> & Sendable,
        emptyMeans: String? = nil,
        needsRestart: Bool = false
    ) -> ConfigurationKey {
        ConfigurationKey(
            name: name,
            needsRestart: needsRestart,
            apply: { configuration, value throws(ConfigurationError) in
                guard value.hasPrefix("/") || (value.isEmpty && emptyMeans != nil) else {
                    throw ConfigurationError(
                        "expected an absolute path" + (emptyMeans.map { ", or nothing for \($0)" } ?? "")
                    )
                }
                configuration[keyPath: field] = value
            },
            render: { $0[keyPath: field] }
        )
    }

    private static func flag(
        _ name: String,
        _ field: WritableKeyPath<DaemonConfiguration, Bool> & Sendable
    ) -> ConfigurationKey {
        ConfigurationKey(
            name: name,
            needsRestart: false,
            apply: { configuration, value throws(ConfigurationError) in
                switch value.lowercased() {
                case "yes", "true", "on", "1": configuration[keyPath: field] = true
                case "no", "false", "off", "0": configuration[keyPath: field] = false
                default: throw ConfigurationError("expected yes or no")
                }
            },
            render: { $0[keyPath: field] ? "yes" : "no" }
        )
    }

    static func number(
        _ name: String,
        _ field: WritableKeyPath<DaemonConfiguration, Int> & Sendable,
        _ range: ClosedRange<Int>,
        needsRestart: Bool = false
    ) -> ConfigurationKey {
        ConfigurationKey(
            name: name,
            needsRestart: needsRestart,
            apply: { configuration, value throws(ConfigurationError) in
                guard let number = Int(value), range.contains(number) else {
                    throw ConfigurationError("expected a whole number from \(range.lowerBound) to \(range.upperBound)")
                }
                configuration[keyPath: field] = number
            },
            render: { String($0[keyPath: field]) }
        )
    }

    private static func listen(
        _ name: String,
        _ field: WritableKeyPath<DaemonConfiguration, [ListenAddress]> & Sendable
    ) -> ConfigurationKey {
        ConfigurationKey(
            name: name,
            needsRestart: true,
            apply: { configuration, value throws(ConfigurationError) in
                configuration[keyPath: field] = try ListenAddress.parseList(value)
            },
            render: { $0[keyPath: field].map(\.description).joined(separator: ", ") }
        )
    }

    static func mechanisms(
        _ name: String,
        _ field: WritableKeyPath<DaemonConfiguration, [String]> & Sendable
    ) -> ConfigurationKey {
        ConfigurationKey(
            name: name,
            needsRestart: false,
            apply: { configuration, value throws(ConfigurationError) in
                let names = words(value).map { $0.uppercased() }
                for name in names where !knownMechanisms.contains(name) {
                    throw ConfigurationError(
                        "unknown mechanism \(name) (known: \(knownMechanisms.joined(separator: " ")))"
                    )
                }
                configuration[keyPath: field] = names
            },
            render: { $0[keyPath: field].joined(separator: " ") }
        )
    }

    /// Words separated by blanks or commas.
    static func words(_ text: String) -> [String] {
        text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }).map(String.init)
    }
}
