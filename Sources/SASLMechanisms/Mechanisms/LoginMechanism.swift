import SASLDB

/// The server side of LOGIN (draft-murchison-sasl-login): the server asks `Username:` then `Password:`, and the
/// client answers each prompt with the bare value.
///
/// The prompts are exactly the bytes Cyrus sends, without NUL or line end. An initial response carries the user name,
/// so the first prompt is skipped. An empty user name or password is malformed. The user name maps to a user as
/// ``SASLServerContext/user(forLogin:)`` says, as soon as it arrives, so a bad name fails before the password is asked.
///
/// LOGIN has no authorization identity and, unlike PLAIN, no rule that the password be UTF-8: old clients send it in
/// their own charset, and Cyrus compares whatever bytes arrive, so the password is compared byte for byte as well.
/// The bounds are PLAIN's: ``maximumNameLength`` and ``maximumPasswordLength`` bytes, else
/// ``SASLFailure/tooLong(limit:)``. Verification and its failures are PLAIN's too: an unknown user, a disabled user
/// and a wrong password give the same ``SASLFailure/authenticationFailed(reason:)`` after comparable work.
///
/// The user name, as sent, is the ``claimedLogin`` from the moment it arrives; once the password arrived,
/// `username NUL password` is the retry material (``withRetryMaterial(_:)``), whatever the outcome.
///
/// A client response of `*` (cancel) never reaches this type: the caller handles it before decoding. The decoded
/// password belongs to the caller, which should zero it after ``step(_:)`` returns; this type keeps it only in its
/// retry material, zeroed when ``eraseRetryMaterial()`` is called or the last copy goes away.
public struct LoginMechanism: SASLServerMechanism {
    /// The IANA name.
    public static let name = "LOGIN"

    /// The first challenge.
    public static let usernamePrompt: [UInt8] = Array("Username:".utf8)

    /// The second challenge.
    public static let passwordPrompt: [UInt8] = Array("Password:".utf8)

    /// The longest user name, in bytes (``PlainMechanism/maximumNameLength``).
    public static let maximumNameLength = PlainMechanism.maximumNameLength

    /// The longest password, in bytes (``CredentialStore/maximumPasswordLength``).
    public static let maximumPasswordLength = CredentialStore.maximumPasswordLength

    private enum State {
        case initial
        case awaitingUsername
        case awaitingPassword(login: [UInt8], user: UserID)
        case finished
    }

    private let context: SASLServerContext
    private var state = State.initial
    private let retryMaterial = RetryMaterial()

    /// The user name the client sent, once it arrived.
    public private(set) var claimedLogin: [UInt8]?

    /// Creates the mechanism for one authentication attempt.
    public init(context: SASLServerContext) {
        self.context = context
    }

    /// Without an initial response the first step only prompts for the user name.
    public func stepIsImmediate(for response: [UInt8]?) -> Bool {
        guard case .initial = state else { return false }
        return response == nil
    }

    /// Feeds the client's response: `nil` first gets the user name prompt; the user name gets the password prompt;
    /// the password gets success or failure.
    public mutating func step(_ response: [UInt8]?) -> SASLStep {
        switch state {
        case .initial:
            guard let response else {
                state = .awaitingUsername
                return .challenge(Self.usernamePrompt)
            }
            return acceptUsername(response)
        case .awaitingUsername:
            guard let response else {
                state = .finished
                return .failure(.malformed(reason: "LOGIN expected the user name"))
            }
            return acceptUsername(response)
        case .awaitingPassword(let login, let user):
            state = .finished
            guard let response else { return .failure(.malformed(reason: "LOGIN expected the password")) }
            return checkPassword(response, login: login, user: user)
        case .finished:
            return .failure(.malformed(reason: "the LOGIN exchange is already over"))
        }
    }

    /// Lends `username NUL password`, once the password arrived.
    public func withRetryMaterial<Result>(_ body: ([UInt8]) -> Result) -> Result? {
        retryMaterial.withBytes(body)
    }

    /// Zeroes the retry material, in every copy of this mechanism.
    public func eraseRetryMaterial() {
        retryMaterial.erase()
    }

    private mutating func acceptUsername(_ response: [UInt8]) -> SASLStep {
        state = .finished
        // The whole response is the name: keep a buffer of its own, since the caller wipes the response's.
        let login = response.separateCopy
        claimedLogin = login
        guard login.count <= Self.maximumNameLength else { return .failure(.tooLong(limit: Self.maximumNameLength)) }
        guard !login.isEmpty else { return .failure(.malformed(reason: "the LOGIN user name is empty")) }
        do {
            let user = try context.user(forLogin: login)
            state = .awaitingPassword(login: login, user: user)
            return .challenge(Self.passwordPrompt)
        } catch {
            return .failure(error)
        }
    }

    private func checkPassword(_ password: [UInt8], login: [UInt8], user: UserID) -> SASLStep {
        retryMaterial.store(login: login, password: password)
        guard password.count <= Self.maximumPasswordLength else {
            return .failure(.tooLong(limit: Self.maximumPasswordLength))
        }
        guard !password.isEmpty else { return .failure(.malformed(reason: "the LOGIN password is empty")) }
        return PasswordCheck.authenticate(
            user: user,
            login: login,
            password: password,
            authorizationID: [],
            context: context
        )
    }
}
