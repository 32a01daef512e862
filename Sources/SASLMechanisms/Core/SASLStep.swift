import SASLDB

/// What a server mechanism answers to one client response.
public enum SASLStep: Sendable, Equatable {
    /// Send these bytes to the client (the SMTP layer base64-encodes them) and wait for its next response.
    case challenge([UInt8])
    /// The client proved its identity; the exchange is over.
    case success(AuthenticatedIdentity)
    /// The exchange is over without success.
    case failure(SASLFailure)
}

/// Who logged in, and as whom they act.
public struct AuthenticatedIdentity: Sendable, Equatable {
    /// The user whose secrets were checked.
    public var user: UserID
    /// The identity the client asked to act as, when it gave one different from its login (already authorised).
    public var authorizationID: String?

    /// Creates an identity.
    public init(user: UserID, authorizationID: String? = nil) {
        self.user = user
        self.authorizationID = authorizationID
    }
}

/// Why an exchange failed. Never carries a password or a secret; `reason` is for the log, not for the client.
public enum SASLFailure: Error, Sendable, Equatable {
    /// The client sent `*` (RFC 4954) to cancel.
    case cancelled
    /// The client's message does not follow the mechanism's syntax; `reason` names the rule broken.
    case malformed(reason: String)
    /// A message longer than the documented bound of the mechanism.
    case tooLong(limit: Int)
    /// Wrong password, unknown user or disabled user: deliberately one case, so a client cannot tell them apart.
    /// `reason` may say which for the server's log.
    case authenticationFailed(reason: String)
    /// The credentials were right but the client may not act as the authorization identity it asked for.
    case authorizationDenied(reason: String)
    /// The store could not be read; the client may retry later (SMTP 454).
    case temporary(reason: String)
}
