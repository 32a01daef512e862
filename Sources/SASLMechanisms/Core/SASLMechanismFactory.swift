/// Makes a fresh server mechanism by its IANA name, for one authentication attempt.
public enum SASLMechanismFactory {
    /// A new state machine for `name` (case-insensitive), or `nil` for a mechanism this library does not implement.
    ///
    /// - Parameters:
    ///   - channelBindings: the TLS channel bindings of the connection, for the `-PLUS` SCRAM variants; without them
    ///     those variants fail every attempt, so do not advertise them.
    ///   - scramIterations: the PBKDF2 count used for users who have only a plaintext password.
    ///   - digestHosts: the host names DIGEST-MD5 accepts in `digest-uri` (clients put the name they connected to).
    public static func make(
        _ name: String,
        context: SASLServerContext,
        channelBindings: [SCRAMChannelBinding] = [],
        scramIterations: Int = 4096,
        digestHosts: DigestMD5Mechanism.AcceptedHosts = .hostNameOnly
    ) -> (any SASLServerMechanism)? {
        switch name.uppercased() {
        case PlainMechanism.name: return PlainMechanism(context: context)
        case LoginMechanism.name: return LoginMechanism(context: context)
        case CRAMMD5Mechanism.name: return CRAMMD5Mechanism(context: context)
        case DigestMD5Mechanism.name: return DigestMD5Mechanism(context: context, acceptedHosts: digestHosts)
        case SCRAMSHA1Mechanism.name:
            return SCRAMSHA1Mechanism(context: context, iterations: scramIterations, channelBindings: channelBindings)
        case SCRAMSHA256Mechanism.name:
            return SCRAMSHA256Mechanism(context: context, iterations: scramIterations, channelBindings: channelBindings)
        case SCRAMSHA1PlusMechanism.name:
            return SCRAMSHA1PlusMechanism(
                context: context,
                iterations: scramIterations,
                channelBindings: channelBindings
            )
        case SCRAMSHA256PlusMechanism.name:
            return SCRAMSHA256PlusMechanism(
                context: context,
                iterations: scramIterations,
                channelBindings: channelBindings
            )
        default: return nil
        }
    }
}
