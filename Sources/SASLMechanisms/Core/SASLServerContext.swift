import SASLDB

/// What every mechanism of one server needs to know: where the secrets are and how names map to users.
public struct SASLServerContext: Sendable {
    /// Where secrets are read.
    public var lookup: any CredentialLookup
    /// The server's host name: used in CRAM-MD5 challenges and checked in DIGEST-MD5's `digest-uri`.
    public var hostName: String
    /// The service name of `digest-uri` (`smtp/<host>`).
    public var service: String
    /// The realm of a login name without `@`, as Cyrus's `user_realm` (Postfix's `smtpd_sasl_local_domain`); also
    /// the realm DIGEST-MD5 offers.
    public var defaultRealm: String
    /// Decides whether `user` may act as `authorizationID`; without it only the user's own name is allowed.
    public var authorize: (@Sendable (_ user: UserID, _ authorizationID: String) -> Bool)?
    /// Which sources check the passwords of PLAIN and LOGIN: the store by default.
    public var passwordSourceOrder: PasswordSourceOrder
    /// The source besides the store that ``passwordSourceOrder`` may name (PAM), or `nil`.
    public var passwordSource: (any PasswordSource)?

    /// Creates a context.
    public init(
        lookup: any CredentialLookup,
        hostName: String,
        service: String = "smtp",
        defaultRealm: String? = nil,
        authorize: (@Sendable (UserID, String) -> Bool)? = nil,
        passwordSourceOrder: PasswordSourceOrder = .store,
        passwordSource: (any PasswordSource)? = nil
    ) {
        self.lookup = lookup
        self.hostName = hostName
        self.service = service
        self.defaultRealm = defaultRealm ?? hostName
        self.authorize = authorize
        self.passwordSourceOrder = passwordSourceOrder
        self.passwordSource = passwordSource
    }

    /// Maps a login name to the user whose secrets are checked, the way Cyrus does: a name with `@` splits at the
    /// first `@`; a name without one takes ``defaultRealm``.
    public func user(forLogin login: [UInt8]) throws(SASLFailure) -> UserID {
        guard let name = String(validating: login, as: UTF8.self) else {
            throw .malformed(reason: "the login name is not valid UTF-8")
        }
        do {
            return try UserID(parsing: name, defaultRealm: defaultRealm)
        } catch {
            throw .malformed(reason: "the login name is empty, contains NUL or is too long")
        }
    }

    /// Checks an authorization identity: empty or the login's own name always passes, another needs ``authorize``.
    public func authorizationID(_ requested: [UInt8], for user: UserID, login: [UInt8]) throws(SASLFailure) -> String? {
        guard !requested.isEmpty, requested != login, requested != Array(user.description.utf8) else { return nil }
        guard let name = String(validating: requested, as: UTF8.self) else {
            throw .malformed(reason: "the authorization identity is not valid UTF-8")
        }
        // `alice` asked by `alice@example.org` (or the reverse) names the same user once mapped, as in Cyrus.
        if let mapped = try? UserID(parsing: name, defaultRealm: defaultRealm), mapped == user { return nil }
        guard let authorize, authorize(user, name) else {
            throw .authorizationDenied(reason: "\(user) may not act as another identity")
        }
        return name
    }

    /// Reads `user`'s secrets, turning a store error into a temporary failure.
    public func secrets(for user: UserID) throws(SASLFailure) -> UserSecrets {
        do {
            return try lookup.secrets(for: user)
        } catch {
            throw .temporary(reason: "the credential store could not be read: \(error)")
        }
    }
}
