import SASLDB

/// The outcome of one saslauthd request.
public enum SaslauthdVerdict: Sendable, Equatable {
    /// The password is right for this user.
    case accepted(UserID)
    /// Wrong password, unknown or disabled user, or a name the store cannot hold: one answer for all of them.
    case refused
    /// The store could not be read; the reason is for the log, not the peer.
    case unavailable(reason: String)

    /// What the peer is told: `OK`, or the one refusal text; a store failure says only that it was temporary.
    public var reply: SaslauthdReply {
        switch self {
        case .accepted: .ok
        case .refused: .authenticationFailed
        case .unavailable: .no("temporary failure")
        }
    }
}
