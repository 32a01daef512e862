/// Makes a fresh server mechanism by its IANA name, for one authentication attempt.
public enum SASLMechanismFactory {
    /// Every mechanism this library implements, strongest first.
    ///
    /// The one list of names: the factory makes these, ``MechanismPolicy/all`` enables those that need no channel
    /// binding, and a server checks its configured names against ``names``.
    public static let implemented: [ImplementedMechanism] = [
        ImplementedMechanism(scram: SCRAMSHA256Plus.self),
        ImplementedMechanism(scram: SCRAMSHA256.self),
        ImplementedMechanism(scram: SCRAMSHA1Plus.self),
        ImplementedMechanism(scram: SCRAMSHA1.self),
        ImplementedMechanism(name: DigestMD5Mechanism.name) { context, settings in
            DigestMD5Mechanism(context: context, acceptedHosts: settings.digestHosts)
        },
        ImplementedMechanism(name: CRAMMD5Mechanism.name) { context, _ in CRAMMD5Mechanism(context: context) },
        ImplementedMechanism(name: PlainMechanism.name) { context, _ in PlainMechanism(context: context) },
        ImplementedMechanism(name: LoginMechanism.name) { context, _ in LoginMechanism(context: context) },
    ]

    /// The names of ``implemented``, strongest first: every name the factory knows.
    public static let names = implemented.map(\.name)

    /// The mechanisms whose client sends its password: the only ones a ``PasswordSource`` other than the store can
    /// check, since the others need secrets derived from a stored password.
    public static let passwordMechanisms: Set<String> = [PlainMechanism.name, LoginMechanism.name]

    /// The row of ``implemented`` for `name` (case-insensitive), or `nil` for a mechanism this library does not
    /// implement.
    public static func mechanism(named name: String) -> ImplementedMechanism? {
        let uppercased = name.uppercased()
        return implemented.first { $0.name == uppercased }
    }

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
        let settings = ImplementedMechanism.Settings(
            channelBindings: channelBindings,
            scramIterations: scramIterations,
            digestHosts: digestHosts
        )
        return mechanism(named: name)?.make(context, settings)
    }
}
