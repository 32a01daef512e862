import SASLDB

/// The client side of CRAM-MD5 (RFC 2195): the server's challenge answered with
/// `login SP hex(HMAC-MD5(password, challenge))`.
public struct CRAMMD5Client: SASLClientMechanism {
    /// The IANA name.
    public static let name = "CRAM-MD5"

    /// The IANA name.
    public var name: String { Self.name }

    private let credentials: SASLClientCredentials
    private var answered = false

    /// Creates a client.
    public init(credentials: SASLClientCredentials) {
        self.credentials = credentials
    }

    /// `nil`: the server sends the challenge first.
    public mutating func initialResponse() throws(SASLClientError) -> [UInt8]? { nil }

    /// `login SP digest` to the one challenge.
    ///
    /// - Throws: ``SASLClientError/malformedChallenge(mechanism:reason:)`` for an empty challenge (RFC 2195 asks for a
    ///   unique one, so an empty one is a broken server); ``SASLClientError/unexpectedChallenge(mechanism:)`` for a
    ///   second challenge.
    public mutating func respond(to challenge: [UInt8]) throws(SASLClientError) -> [UInt8] {
        guard !answered else { throw .unexpectedChallenge(mechanism: name) }
        guard !challenge.isEmpty else { throw .malformedChallenge(mechanism: name, reason: "the challenge is empty") }
        answered = true
        let digest = HashAlgorithm.md5.hmac(key: credentials.password, challenge)
        return Array((credentials.user + " " + Hex.encode(digest)).utf8)
    }
}
