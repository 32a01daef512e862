/// The client side of LOGIN (draft-murchison-sasl-login): the login name, then the password, each answering a
/// challenge (`Username:` and `Password:`, whose text clients ignore).
///
/// The password goes in the clear: use it only inside TLS.
public struct LoginClient: SASLClientMechanism {
    /// The IANA name.
    public static let name = "LOGIN"

    /// The IANA name.
    public var name: String { Self.name }

    private let credentials: SASLClientCredentials
    private var answered = 0

    /// Creates a client.
    public init(credentials: SASLClientCredentials) {
        self.credentials = credentials
    }

    /// `nil`: the server asks for the name first.
    public mutating func initialResponse() throws(SASLClientError) -> [UInt8]? { nil }

    /// The login name to the first challenge, the password to the second.
    public mutating func respond(to challenge: [UInt8]) throws(SASLClientError) -> [UInt8] {
        defer { answered += 1 }
        switch answered {
        case 0: return Array(credentials.user.utf8)
        case 1: return credentials.password
        default: throw .unexpectedChallenge(mechanism: name)
        }
    }

    /// `********` for the password (the second response).
    public func redacted(_ response: [UInt8]) -> [UInt8]? {
        answered == 2 ? redactedPassword : nil
    }
}
