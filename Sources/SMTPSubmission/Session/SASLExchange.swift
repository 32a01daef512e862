import SASLMechanisms

/// An AUTH command in progress: the mechanism (held here while the client composes its next response, and by the
/// driver while a step runs) and what the session learned of the attempt.
struct SASLExchange {
    /// The mechanism name, uppercased.
    let mechanismName: String
    /// The mechanism state between steps; `nil` while the driver runs a step.
    var mechanism: (any SASLServerMechanism)?
    /// The login name and password fingerprint seen so far.
    var attempt: AttemptedCredential

    init(mechanismName: String) {
        self.mechanismName = mechanismName
        self.attempt = AttemptedCredential(mechanism: mechanismName)
    }
}
