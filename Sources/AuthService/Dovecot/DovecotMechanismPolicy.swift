import SASLMechanisms

/// Which mechanisms the Dovecot socket offers: one list for every service, and lists of their own for the services
/// named (`service=` in `AUTH`), each with the mechanisms it allows on a client connection that is not `secured`.
public struct DovecotMechanismPolicy: Sendable, Equatable {
    /// The policy of a service without a list of its own.
    public var standard: MechanismPolicy
    /// The policies of named services (`smtp`, `imap`, `sieve`), by the name as the client sends it.
    public var services: [String: MechanismPolicy]

    /// Creates a policy.
    ///
    /// - Parameters:
    ///   - standard: the policy of every service not in `services`.
    ///   - services: policies by service name.
    public init(standard: MechanismPolicy = MechanismPolicy(), services: [String: MechanismPolicy] = [:]) {
        self.standard = standard
        self.services = services
    }

    /// The policy of `service`.
    public func policy(for service: String) -> MechanismPolicy {
        services[service] ?? standard
    }

    /// The mechanisms announced in the handshake, which comes before any request names its service: every mechanism
    /// some service enables, in the library's order (strongest first), without the `-PLUS` variants (the protocol as
    /// Postfix and Exim speak it carries no channel binding).
    public var announced: [String] {
        let enabled = Set(([standard] + Array(services.values)).flatMap(\.enabled))
        return SASLMechanismFactory.implemented.filter { !$0.needsChannelBinding && enabled.contains($0.name) }
            .map(\.name)
    }

    /// The security flags of `mechanism` in a `MECH` line, as Dovecot announces them: Postfix's
    /// `smtpd_sasl_security_options` (`noplaintext`, `noactive`, `nodictionary`) filter mechanisms by them.
    static func flags(of mechanism: String) -> [String] {
        switch mechanism {
        case "PLAIN", "LOGIN": ["plaintext"]
        case "CRAM-MD5": ["dictionary", "active"]
        case "DIGEST-MD5": ["dictionary", "active", "mutual-auth"]
        default: ["mutual-auth"]  // SCRAM proves the server to the client too.
        }
    }
}
