/// Why a client mechanism cannot go on. Never carries the password or a value derived from it.
public enum SASLClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The name is not one of ``SASLClientFactory/supported``.
    case unsupportedMechanism(String)
    /// A challenge came where the mechanism expects none (after its last response, or before it started).
    case unexpectedChallenge(mechanism: String)
    /// The server's challenge does not follow the mechanism's syntax; `reason` names the rule broken.
    case malformedChallenge(mechanism: String, reason: String)
    /// The server's proof of knowing the password (DIGEST-MD5's `rspauth`, SCRAM's `v=`) is wrong.
    case serverNotAuthenticated(mechanism: String)
    /// The server reported an error in its last message (SCRAM's `e=`); `reason` is its text.
    case serverError(mechanism: String, reason: String)
    /// The password cannot be used with this mechanism (SCRAM: the password preparation refused it).
    case unusablePassword(mechanism: String)

    /// A sentence for the user.
    public var description: String {
        switch self {
        case .unsupportedMechanism(let name):
            return "mechanism \(name) is not one of \(SASLClientFactory.supported.joined(separator: " "))"
        case .unexpectedChallenge(let mechanism):
            return "\(mechanism): the server sent a challenge the mechanism does not expect"
        case .malformedChallenge(let mechanism, let reason):
            return "\(mechanism): malformed challenge: \(reason)"
        case .serverNotAuthenticated(let mechanism):
            return "\(mechanism): the server's proof is wrong: it does not know the password"
        case .serverError(let mechanism, let reason):
            return "\(mechanism): the server reported an error: \(reason)"
        case .unusablePassword(let mechanism):
            return "\(mechanism): the password is refused by SASLprep"
        }
    }
}
