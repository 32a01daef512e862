/// Which mechanisms a server offers, and which of them it offers before TLS.
public struct MechanismPolicy: Sendable, Equatable {
    /// The enabled mechanisms, in the order they are advertised (strongest first).
    public var enabled: [String]
    /// Mechanisms allowed on a connection without TLS; empty by default, so nothing runs in the clear.
    ///
    /// The seed's Sendmail offered CRAM-MD5 and DIGEST-MD5 before STARTTLS: put those two here to do the same.
    public var allowedWithoutTLS: Set<String>

    /// Creates a policy.
    public init(enabled: [String] = MechanismPolicy.all, allowedWithoutTLS: Set<String> = []) {
        self.enabled = enabled
        self.allowedWithoutTLS = allowedWithoutTLS
    }

    /// Every mechanism this library implements that needs no TLS channel binding, strongest first (the
    /// ``SASLMechanismFactory/implemented`` rows without ``ImplementedMechanism/needsChannelBinding``): the SCRAM
    /// `-PLUS` variants are enabled by name, on servers that have channel bindings to offer.
    public static let all = SASLMechanismFactory.implemented.filter { !$0.needsChannelBinding }.map(\.name)

    /// The mechanisms to advertise on a connection that is (or is not) protected by TLS.
    public func offered(overTLS: Bool) -> [String] {
        enabled.filter { overTLS || allowedWithoutTLS.contains($0) }
    }

    /// This policy without the mechanisms `order` cannot serve: with ``PasswordSourceOrder/external`` only
    /// ``SASLMechanismFactory/passwordMechanisms`` remain, since there are no stored secrets for the others.
    public func usable(with order: PasswordSourceOrder) -> MechanismPolicy {
        guard order == .external else { return self }
        let kept = SASLMechanismFactory.passwordMechanisms
        return MechanismPolicy(
            enabled: enabled.filter(kept.contains),
            allowedWithoutTLS: allowedWithoutTLS.intersection(kept)
        )
    }

    /// Whether `mechanism` (case-insensitive, as RFC 4422 names are) may run now.
    public func permits(_ mechanism: String, overTLS: Bool) -> Bool {
        offered(overTLS: overTLS).contains(mechanism.uppercased())
    }
}
