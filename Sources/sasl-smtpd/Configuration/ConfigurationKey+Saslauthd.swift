extension DaemonConfiguration {
    /// The saslauthd socket's keys, after the Dovecot socket's in `sasl-smtpd(8)` and `--check-config`.
    static let saslauthdKeys = [saslauthdSocketKey, saslauthdSocketGroupKey, saslauthdSocketModeKey]

    /// `saslauthd_socket`: the paths, none by default.
    static let saslauthdSocketKey = ConfigurationKey(
        name: "saslauthd_socket",
        needsRestart: true,
        apply: { configuration, value throws(ConfigurationError) in
            let paths = words(value)
            for path in paths where !path.hasPrefix("/") {
                throw ConfigurationError("expected absolute paths, or nothing for no socket; \(path) is not one")
            }
            guard Set(paths).count == paths.count else { throw ConfigurationError("a path is listed twice") }
            configuration.saslauthdSocket = paths
        },
        render: { $0.saslauthdSocket.joined(separator: ", ") }
    )

    /// `saslauthd_socket_group`: the group of a socket directory the daemon makes.
    static let saslauthdSocketGroupKey = text(
        "saslauthd_socket_group",
        \.saslauthdSocketGroup,
        nonEmpty: false,
        needsRestart: true
    )

    /// `saslauthd_socket_mode`: the mode of a socket directory the daemon makes.
    static let saslauthdSocketModeKey = ConfigurationKey(
        name: "saslauthd_socket_mode",
        needsRestart: true,
        apply: { configuration, value throws(ConfigurationError) in
            guard let mode = Int(value, radix: 8), (0...0o777).contains(mode) else {
                throw ConfigurationError("expected an octal mode such as 0710")
            }
            // The daemon must be able to enter it and remove its socket; others get at most search permission,
            // which is all connecting needs (listing or planting files would let them spoof the socket).
            guard mode & 0o700 == 0o700, mode & 0o022 == 0 else {
                throw ConfigurationError(
                    "expected the owner to have rwx and group and others no write permission, such as 0710"
                )
            }
            configuration.saslauthdSocketMode = mode
        },
        render: { "0" + String($0.saslauthdSocketMode, radix: 8) }
    )
}
