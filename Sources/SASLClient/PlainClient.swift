/// The client side of PLAIN (RFC 4616): one initial response, `authzid NUL authcid NUL password`.
///
/// The password goes in the clear: use it only inside TLS.
public struct PlainClient: SASLClientMechanism {
    /// The IANA name.
    public static let name = "PLAIN"

    /// The IANA name.
    public var name: String { Self.name }

    private let credentials: SASLClientCredentials
    private let authorizationID: String
    private var sent = false

    /// Creates a client.
    ///
    /// - Parameters:
    ///   - credentials: the login and the password.
    ///   - authorizationID: the identity to act as; empty (the default) to act as the login itself.
    public init(credentials: SASLClientCredentials, authorizationID: String = "") {
        self.credentials = credentials
        self.authorizationID = authorizationID
    }

    /// `authzid NUL authcid NUL password`.
    public mutating func initialResponse() throws(SASLClientError) -> [UInt8]? {
        sent = true
        return Array(authorizationID.utf8) + [0] + Array(credentials.user.utf8) + [0] + credentials.password
    }

    /// PLAIN has no challenge: always throws.
    public mutating func respond(to challenge: [UInt8]) throws(SASLClientError) -> [UInt8] {
        throw .unexpectedChallenge(mechanism: name)
    }

    /// The initial response up to the password, then `********`.
    public func redacted(_ response: [UInt8]) -> [UInt8]? {
        guard let separator = response.lastIndex(of: 0) else { return nil }
        return Array(response[...separator]) + redactedPassword
    }
}
