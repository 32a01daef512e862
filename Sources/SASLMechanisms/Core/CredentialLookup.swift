import SASLDB

/// Where mechanisms read a user's secrets; a ``CredentialStore`` is one, an in-memory store in tests is another.
public protocol CredentialLookup: Sendable {
    /// The user's secrets, read in one lookup; empty secrets for an unknown user.
    ///
    /// - Throws: when the store cannot be read (the mechanism then fails with ``SASLFailure/temporary(reason:)``).
    func secrets(for user: UserID) throws -> UserSecrets

    /// Which secrets the store writes for a user, so that a password checked for an unknown or disabled user runs
    /// against stand-in secrets of the same shape and costs what a real user of this store costs: on a store without
    /// plaintext a real user costs a PBKDF2 run of ``SecretPolicy/scramIterations``, and an unknown name must too, or
    /// the answer time tells a remote guesser which names exist.
    var secretPolicy: SecretPolicy { get }

    /// Whether the store holds `user` at all, disabled users included: with ``PasswordSourceOrder/storeThenExternal``
    /// such a user is the store's alone, so disabling it there is never undone by another source knowing the name.
    ///
    /// - Throws: when the store cannot be read.
    func holds(_ user: UserID) throws -> Bool

    /// The user's secrets when the lookup has them in memory and can prove them current without waiting (at most an
    /// `lstat` of a local file), else `nil`: a step that needs only these may run on an event loop.
    func secretsInMemory(for user: UserID) -> UserSecrets?
}

extension CredentialLookup {
    /// Whether `user` has secrets: a lookup that cannot tell a disabled user apart.
    public func holds(_ user: UserID) throws -> Bool { !(try secrets(for: user)).isEmpty }

    /// `nil`: every lookup may wait.
    public func secretsInMemory(for user: UserID) -> UserSecrets? { nil }
}

extension CredentialStore: CredentialLookup {
    public func secrets(for user: UserID) throws -> UserSecrets { try secrets(of: user) }

    /// `CredentialStore.exists(_:)`: active or disabled login secrets.
    public func holds(_ user: UserID) throws -> Bool { try exists(user) }

    /// `CredentialStore.secretsInMemory(of:)`: a file store's cached lookup, still current.
    public func secretsInMemory(for user: UserID) -> UserSecrets? { secretsInMemory(of: user) }

    /// ``CredentialStore/policy``: what this store writes.
    public var secretPolicy: SecretPolicy { policy }
}
