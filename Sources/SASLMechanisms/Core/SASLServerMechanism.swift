import SASLDB

/// The server side of one SASL mechanism for one authentication attempt: a pure state machine.
///
/// No I/O, no base64, no logging: the caller frames the exchange, decodes the client's responses and logs the
/// outcome. A fresh value is made for every attempt.
public protocol SASLServerMechanism: Sendable {
    /// The IANA name, for example `CRAM-MD5`.
    static var name: String { get }

    /// Feeds the client's next decoded response and returns what to do next.
    ///
    /// - Parameter response: `nil` when the client sent no initial response (differs from an empty one), otherwise
    ///   the decoded bytes. A response of exactly `*` is handled by the caller as a cancel, before decoding.
    mutating func step(_ response: [UInt8]?) -> SASLStep

    /// Whether ``step(_:)`` with `response` answers at once: no store lookup, no password hashing, nothing that can
    /// wait. A driver may then run the step where blocking is not allowed (an event loop) instead of handing it to a
    /// worker thread, whose two thread switches cost more than the step. `false` unless the mechanism is sure.
    ///
    /// - Parameter response: the response the next ``step(_:)`` would be given.
    func stepIsImmediate(for response: [UInt8]?) -> Bool
}

extension SASLServerMechanism {
    /// `false`: any step may read the store.
    public func stepIsImmediate(for response: [UInt8]?) -> Bool { false }
}

/// Where mechanisms read a user's secrets; a ``CredentialStore`` is one, an in-memory store in tests is another.
public protocol CredentialLookup: Sendable {
    /// The user's secrets, read in one lookup; empty secrets for an unknown user.
    ///
    /// - Throws: when the store cannot be read (the mechanism then fails with ``SASLFailure/temporary(reason:)``).
    func secrets(for user: UserID) throws -> UserSecrets
}

extension CredentialStore: CredentialLookup {
    public func secrets(for user: UserID) throws -> UserSecrets { try secrets(of: user) }
}
