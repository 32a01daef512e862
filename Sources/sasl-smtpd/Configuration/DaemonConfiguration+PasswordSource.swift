import PAMAuthentication
import SASLMechanisms
import SMTPSubmission

extension DaemonConfiguration {
    /// The keys of ``PasswordSourceSettings``, in the order of `sasl-smtpd(8)`.
    static let passwordSourceKeys: [ConfigurationKey] =
        [
            ConfigurationKey(
                name: "password_source",
                needsRestart: true,
                apply: { configuration, value throws(ConfigurationError) in
                    configuration.passwordSources.all = try passwordSourceOrder(value)
                },
                render: { PasswordSourceSettings.name(of: $0.passwordSources.all) }
            )
        ]
        + PasswordSourceSettings.listenerKeys.map { key in
            ConfigurationKey(
                name: key,
                needsRestart: true,
                apply: { configuration, value throws(ConfigurationError) in
                    if value.isEmpty {
                        configuration.passwordSources.overrides[key] = nil
                    } else {
                        configuration.passwordSources.overrides[key] = try passwordSourceOrder(value)
                    }
                },
                render: { $0.passwordSources.overrides[key].map(PasswordSourceSettings.name(of:)) ?? "" }
            )
        } + [
            ConfigurationKey(
                name: "pam_service",
                needsRestart: true,
                apply: { configuration, value throws(ConfigurationError) in
                    // A name, not a path: PAM looks it up in /etc/pam.d.
                    guard !value.isEmpty, !value.contains("/"), !value.contains(where: \.isWhitespace) else {
                        throw ConfigurationError(
                            "expected a PAM service name (a file in /etc/pam.d), without / or blanks"
                        )
                    }
                    configuration.passwordSources.pamService = value
                },
                render: { $0.passwordSources.pamService }
            ),
            number("pam_threads", \.passwordSources.pamThreads, 1...256, needsRestart: true),
        ]

    /// A listener of `kind` on `address`, checking passwords in the order its kind's key says.
    func listener(
        _ address: ListenAddress,
        _ kind: SMTPServerConfiguration.Listener.Kind
    ) -> SMTPServerConfiguration.Listener {
        SMTPServerConfiguration.Listener(
            host: address.host,
            port: address.port,
            kind: kind,
            passwordSourceOrder: passwordSources.order(forKey: PasswordSourceSettings.key(for: kind))
        )
    }

    /// The listening addresses of each kind of listener, with the key of its password source.
    private var listenersByPasswordSourceKey: [(key: String, addresses: [ListenAddress])] {
        Array(zip(PasswordSourceSettings.listenerKeys, [submissionListen, smtpsListen, plainListen]))
    }

    /// Whether some listener checks passwords with PAM.
    var usesPAM: Bool {
        listenersByPasswordSourceKey.contains {
            !$0.addresses.isEmpty && passwordSources.order(forKey: $0.key) != .store
        }
    }

    /// The PAM source when a listener uses it, made once so that its thread bound holds across every listener.
    func makePAMSource() -> PAMPasswordSource? {
        guard usesPAM else { return nil }
        return PAMPasswordSource(service: passwordSources.pamService, threads: passwordSources.pamThreads)
    }

    /// Refuses a listener that checks with PAM alone but has no mechanism PAM can serve (PLAIN, LOGIN), and warns
    /// that the others are not offered there.
    func validatePasswordSources() throws(ConfigurationError) -> [String] {
        var warnings: [String] = []
        let policy = MechanismPolicy(enabled: mechanisms)
        for (key, addresses) in listenersByPasswordSourceKey where !addresses.isEmpty {
            let order = passwordSources.order(forKey: key)
            guard order == .external else { continue }
            // Name the key the order came from: the listener's own, or password_source for all.
            let setting = passwordSources.overrides[key] == nil ? "password_source" : key
            guard !policy.usable(with: order).enabled.isEmpty else {
                throw ConfigurationError("\(setting) = pam serves only PLAIN and LOGIN, and mechanisms lists neither")
            }
            let dropped = mechanisms.filter { !SASLMechanismFactory.passwordMechanisms.contains($0) }
            if !dropped.isEmpty {
                warnings.append(
                    "\(setting) = pam: the listeners of \(key) do not offer \(dropped.joined(separator: " ")), "
                        + "which need stored secrets"
                )
            }
        }
        return warnings
    }

    private static func passwordSourceOrder(_ value: String) throws(ConfigurationError) -> PasswordSourceOrder {
        guard let order = PasswordSourceSettings.order(named: value) else {
            throw ConfigurationError("expected sasldb, pam or sasldb,pam")
        }
        return order
    }
}
