import SASLDB

/// The server side of PLAIN (RFC 4616): one message `authzid NUL authcid NUL passwd`.
///
/// Without an initial response the server sends an empty challenge and waits for the message. The message must hold
/// exactly two NUL bytes; the authentication identity and the password must not be empty, and all three parts must
/// be valid UTF-8, as RFC 4616 requires. Names and password are compared byte for byte, without SASLprep, because
/// that is what Cyrus does and what the stored secrets were made from.
///
/// Bounds (checked before anything is looked up, so a hostile client cannot make the server hash megabytes):
/// - the whole message: ``maximumMessageLength`` bytes, else ``SASLFailure/tooLong(limit:)``;
/// - `authzid` and `authcid`: ``maximumNameLength`` bytes each, enough for `authid@realm` with both parts at
///   ``UserID/maximumPartLength``;
/// - the password: ``maximumPasswordLength`` bytes, the longest password the store (and Cyrus's saslpasswd2) accepts.
///
/// The password is checked with ``UserSecrets/verify(password:)``: the plaintext when stored, otherwise any verifier,
/// so a store holding only verifiers still serves PLAIN. An unknown user, a disabled user and a wrong password end in
/// the same ``SASLFailure/authenticationFailed(reason:)`` after comparable work. A non-empty
/// `authzid` other than the login's own name needs ``SASLServerContext/authorize``, and is checked only after the
/// password, so a refused proxy never tells a guesser anything about the password.
///
/// Once the message has its two NUL bytes, the authcid is the ``claimedLogin`` and `authcid NUL passwd` the retry
/// material (``withRetryMaterial(_:)``), whatever the outcome.
///
/// A client response of `*` (cancel) never reaches this type: the caller handles it before decoding. The decoded
/// response belongs to the caller, which should zero it after ``step(_:)`` returns; this type zeroes the copy of the
/// password it checks, and its retry material when ``eraseRetryMaterial()`` is called or the last copy goes away.
public struct PlainMechanism: SASLServerMechanism {
    /// The IANA name.
    public static let name = "PLAIN"

    /// The longest `authzid` or `authcid`, in bytes: `authid@realm` with both parts at ``UserID/maximumPartLength``.
    public static let maximumNameLength = 2 * UserID.maximumPartLength + 1

    /// The longest password, in bytes: ``CredentialStore/maximumPasswordLength``, since no longer one can be stored.
    public static let maximumPasswordLength = CredentialStore.maximumPasswordLength

    /// The longest message, in bytes: two names, the password and the two NUL separators (3072).
    public static let maximumMessageLength = 2 * maximumNameLength + maximumPasswordLength + 2

    private enum State {
        case initial
        case awaitingMessage
        case finished
    }

    private let context: SASLServerContext
    private var state = State.initial
    private let retryMaterial = RetryMaterial()

    /// The authcid, once a message with two NUL bytes arrived.
    public private(set) var claimedLogin: [UInt8]?

    /// Creates the mechanism for one authentication attempt.
    public init(context: SASLServerContext) {
        self.context = context
    }

    /// Without an initial response the first step only asks for the message. A message without an authorization
    /// identity (checking one may call a hook that waits) is answered at once too when the password check is
    /// (``SASLServerContext/passwordCheckIsImmediate(for:)``).
    public func stepIsImmediate(for response: [UInt8]?) -> Bool {
        guard state != .finished else { return false }
        guard let response else { return state == .initial }
        guard response.count <= Self.maximumMessageLength, response.first == 0,
            let end = response.dropFirst().firstIndex(of: 0),
            let user = try? context.user(forLogin: Array(response[1..<end]))
        else { return false }
        return context.passwordCheckIsImmediate(for: user)
    }

    /// Feeds the client's response: `nil` first gets an empty challenge; the message gets success or failure.
    public mutating func step(_ response: [UInt8]?) -> SASLStep {
        switch state {
        case .initial:
            guard let response else {
                state = .awaitingMessage
                return .challenge([])
            }
            state = .finished
            return authenticate(response)
        case .awaitingMessage:
            state = .finished
            guard let response else { return .failure(.malformed(reason: "PLAIN expected the client's message")) }
            return authenticate(response)
        case .finished:
            return .failure(.malformed(reason: "the PLAIN exchange is already over"))
        }
    }

    /// Lends `authcid NUL passwd` of the message, once it has two NUL bytes.
    public func withRetryMaterial<Result>(_ body: ([UInt8]) -> Result) -> Result? {
        retryMaterial.withBytes(body)
    }

    /// Zeroes the retry material, in every copy of this mechanism.
    public func eraseRetryMaterial() {
        retryMaterial.erase()
    }

    private mutating func authenticate(_ message: [UInt8]) -> SASLStep {
        guard message.count <= Self.maximumMessageLength else {
            return .failure(.tooLong(limit: Self.maximumMessageLength))
        }
        let separators = message.indices.filter { message[$0] == 0 }
        guard separators.count == 2 else {
            return .failure(
                .malformed(
                    reason: "a PLAIN message is authzid NUL authcid NUL password, with exactly two NUL bytes, "
                        + "not \(separators.count)"
                )
            )
        }
        let authzid = message[..<separators[0]]
        let authcid = message[(separators[0] + 1)..<separators[1]]
        let password = message[(separators[1] + 1)...]
        claimedLogin = Array(authcid)
        retryMaterial.store(login: Array(authcid), password: password)
        guard !authcid.isEmpty else {
            return .failure(.malformed(reason: "the PLAIN authentication identity is empty"))
        }
        guard !password.isEmpty else { return .failure(.malformed(reason: "the PLAIN password is empty")) }
        guard authzid.count <= Self.maximumNameLength, authcid.count <= Self.maximumNameLength else {
            return .failure(.tooLong(limit: Self.maximumNameLength))
        }
        guard password.count <= Self.maximumPasswordLength else {
            return .failure(.tooLong(limit: Self.maximumPasswordLength))
        }
        // RFC 4616 makes each part UTF-8; the reason names the part, never its bytes.
        for (part, name) in [(authzid, "authorization identity"), (authcid, "authentication identity")] {
            guard isValidUTF8(part) else {
                return .failure(.malformed(reason: "the PLAIN \(name) is not valid UTF-8"))
            }
        }
        guard isValidUTF8(password) else {
            return .failure(.malformed(reason: "the PLAIN password is not valid UTF-8"))
        }

        let login = Array(authcid)
        let user: UserID
        do {
            user = try context.user(forLogin: login)
        } catch {
            return .failure(error)
        }
        var secret = Array(password)
        defer { secret.overwriteWithZeros() }
        return PasswordCheck.authenticate(
            user: user,
            login: login,
            password: secret,
            authorizationID: Array(authzid),
            context: context
        )
    }
}
