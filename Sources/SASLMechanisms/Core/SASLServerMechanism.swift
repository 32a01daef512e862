import SASLDB

/// The server side of one SASL mechanism for one authentication attempt: a pure state machine.
///
/// No I/O, no base64, no logging: the caller frames the exchange, decodes the client's responses and logs the
/// outcome. A fresh value is made for every attempt.
///
/// Besides the verdict, a mechanism tells its caller what the client claimed, from its own parser, so that no other
/// layer parses the mechanism's messages again: ``claimedLogin`` for the log and the failure record, and for the
/// mechanisms whose client sends its password (PLAIN, LOGIN) the material a retry fingerprint is made from
/// (``withRetryMaterial(_:)``), which the caller erases when the attempt ends (``eraseRetryMaterial()``).
public protocol SASLServerMechanism: Sendable {
    /// The IANA name, for example `CRAM-MD5`.
    static var name: String { get }

    /// Feeds the client's next decoded response and returns what to do next.
    ///
    /// - Parameter response: `nil` when the client sent no initial response (differs from an empty one), otherwise
    ///   the decoded bytes. A response of exactly `*` is handled by the caller as a cancel, before decoding. It may
    ///   hold a password, so the caller overwrites its storage once the step returns: what the mechanism keeps
    ///   beyond the step, it keeps in buffers of its own (a part of the response copied out, never the whole array,
    ///   which would share the storage).
    mutating func step(_ response: [UInt8]?) -> SASLStep

    /// Whether ``step(_:)`` with `response` answers at once: no store lookup that can wait (secrets the lookup holds
    /// in memory are fine, ``CredentialLookup/secretsInMemory(for:)``), no key derivation, nothing that can wait. A driver may then run the step where blocking is not allowed (an event loop) instead of handing it to a
    /// worker thread, whose two thread switches cost more than the step. `false` unless the mechanism is sure.
    ///
    /// - Parameter response: the response the next ``step(_:)`` would be given.
    func stepIsImmediate(for response: [UInt8]?) -> Bool

    /// The login name the client gave, as the mechanism parsed it: set as soon as a message naming it was parsed and
    /// kept whatever the outcome, so a failed attempt can be logged and recorded under it. `nil` before that, or when
    /// the client's message was too broken to name anyone.
    ///
    /// It is what the client claimed (PLAIN's authcid, SCRAM's `n=` with `=2C` and `=3D` decoded, DIGEST-MD5's
    /// `username`), not who authenticated: that is the ``AuthenticatedIdentity`` of a success. Unchecked client
    /// bytes: escape them before logging.
    var claimedLogin: [UInt8]? { get }

    /// Whether a step has read the user's secrets while the exchange is still open: SCRAM's first message does (it
    /// needs the salt and count), the others read them only in their last step. A caller counts a client that cancels
    /// such an exchange as a failed attempt, since the lookup (and a key derivation) was done for it.
    var hasReadSecrets: Bool { get }

    /// Lends the retry material to `body`: `login NUL password` as the client sent them, for a caller that turns it
    /// into a keyed fingerprint so that a client retrying the same wrong password is counted once.
    ///
    /// Only mechanisms whose client sends its password have it (PLAIN once its message parsed, LOGIN once the
    /// password arrived); the others, and any mechanism after ``eraseRetryMaterial()``, return `nil` without calling
    /// `body`. `body` must not keep the bytes: they hold a password.
    func withRetryMaterial<Result>(_ body: ([UInt8]) -> Result) -> Result?

    /// Overwrites the retry material with zeros and drops it; call it when the attempt ends, whatever its result.
    ///
    /// The material is shared by every copy of the mechanism (a driver copies it to run a step on another thread),
    /// so erasing through one copy erases it for all; it is also erased when the last copy goes away.
    func eraseRetryMaterial()
}

extension SASLServerMechanism {
    /// `false`: any step may read the store.
    public func stepIsImmediate(for response: [UInt8]?) -> Bool { false }

    /// `false`: the secrets are read only by the step that ends the exchange.
    public var hasReadSecrets: Bool { false }

    /// `nil`: the mechanism never sees a password.
    public func withRetryMaterial<Result>(_ body: ([UInt8]) -> Result) -> Result? { nil }

    /// Nothing to erase: the mechanism never sees a password.
    public func eraseRetryMaterial() {}
}
