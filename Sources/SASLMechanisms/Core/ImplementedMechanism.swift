/// A mechanism this library implements: one row of ``SASLMechanismFactory/implemented``, the one list the factory,
/// ``MechanismPolicy/all`` and a server's configuration check read.
public struct ImplementedMechanism: Sendable {
    /// The IANA name, uppercase, for example `SCRAM-SHA-256-PLUS`.
    public let name: String
    /// Whether the mechanism binds the TLS channel (a SCRAM `-PLUS` variant): it works only on a connection that has
    /// channel bindings to check, so it is offered only there and is not enabled by default.
    public let needsChannelBinding: Bool
    /// Makes a fresh state machine for one attempt.
    let make: @Sendable (SASLServerContext, Settings) -> any SASLServerMechanism

    /// What the factory's caller chose for the mechanisms that take more than a context.
    struct Settings {
        var channelBindings: [SCRAMChannelBinding]
        var scramIterations: Int
        var digestHosts: DigestMD5Mechanism.AcceptedHosts
    }

    init(name: String, make: @escaping @Sendable (SASLServerContext, Settings) -> any SASLServerMechanism) {
        self.name = name
        self.needsChannelBinding = false
        self.make = make
    }

    /// The SCRAM variant `Variant`, whose type says its name and whether it binds the channel.
    init<Variant: SCRAMVariant>(scram variant: Variant.Type) {
        name = SCRAMMechanism<Variant>.name
        needsChannelBinding = Variant.usesChannelBinding
        make = { context, settings in
            SCRAMMechanism<Variant>(
                context: context,
                iterations: settings.scramIterations,
                channelBindings: settings.channelBindings
            )
        }
    }
}
