import SASLDB

/// The client side of DIGEST-MD5 (RFC 2831) with `qop=auth`, the only quality of protection SMTP needs (TLS protects
/// the session).
///
/// 1. The server's digest-challenge is answered with a digest-response for the first realm offered (none: an empty
///    realm), a fresh client nonce, `nc=00000001` and `digest-uri="<service>/<host>"`. The secret is
///    H(login ":" realm ":" password) with each part converted to ISO-8859-1 when representable, as RFC 2831 and
///    Cyrus's client do.
/// 2. The server's `rspauth` is checked: a wrong one means the server does not know the password, and throws. The
///    response to it is empty.
public struct DigestMD5Client: SASLClientMechanism {
    /// The IANA name.
    public static let name = "DIGEST-MD5"

    /// The IANA name.
    public var name: String { Self.name }

    private enum State {
        case awaitingChallenge
        case awaitingResponseAuth(expected: [UInt8])
        case done
    }

    private let credentials: SASLClientCredentials
    private let digestURI: String
    private let clientNonce: String
    private var state = State.awaitingChallenge

    /// Creates a client.
    ///
    /// - Parameters:
    ///   - credentials: the login, sent as `username`, and the password.
    ///   - host: the server's host name, as the server knows itself (it checks the `digest-uri`).
    ///   - service: the service part of the `digest-uri`.
    ///   - clientNonce: the `cnonce`; a fresh random one unless a test needs a fixed value.
    public init(
        credentials: SASLClientCredentials,
        host: String,
        service: String = "smtp",
        clientNonce: String? = nil
    ) {
        self.credentials = credentials
        self.digestURI = service + "/" + host
        self.clientNonce = clientNonce ?? Base64.encode(SecureRandom.bytes(count: 16))
    }

    /// `nil`: the server sends the digest-challenge first.
    public mutating func initialResponse() throws(SASLClientError) -> [UInt8]? { nil }

    /// The digest-response to the challenge, then the empty response to a correct `rspauth`.
    ///
    /// - Throws: ``SASLClientError/malformedChallenge(mechanism:reason:)`` for a challenge without a nonce, without
    ///   `qop=auth`, or with another algorithm than `md5-sess`; ``SASLClientError/serverNotAuthenticated(mechanism:)``
    ///   for a wrong `rspauth`.
    public mutating func respond(to challenge: [UInt8]) throws(SASLClientError) -> [UInt8] {
        switch state {
        case .awaitingChallenge:
            let (response, expected) = try digestResponse(to: DigestChallenge(parsing: challenge))
            state = .awaitingResponseAuth(expected: expected)
            return response
        case .awaitingResponseAuth(let expected):
            state = .done
            guard let rspauth = try DigestChallenge(parsing: challenge)["rspauth"] else {
                throw .malformedChallenge(mechanism: name, reason: "no rspauth after the digest-response")
            }
            guard constantTimeEqual(rspauth, expected) else { throw .serverNotAuthenticated(mechanism: name) }
            return []
        case .done:
            throw .unexpectedChallenge(mechanism: name)
        }
    }

    /// The digest-response and the `rspauth` value the server must answer with.
    private func digestResponse(to challenge: DigestChallenge) throws(SASLClientError) -> ([UInt8], [UInt8]) {
        guard let nonce = challenge["nonce"], !nonce.isEmpty else {
            throw .malformedChallenge(mechanism: name, reason: "no nonce")
        }
        let qop = challenge.list("qop")
        guard qop.isEmpty || qop.contains("auth") else {
            throw .malformedChallenge(mechanism: name, reason: "qop=auth is not offered")
        }
        guard challenge["algorithm"] == Array("md5-sess".utf8) else {
            throw .malformedChallenge(mechanism: name, reason: "the algorithm is not md5-sess")
        }
        let realm = challenge["realm"] ?? []
        let login = Array(credentials.user.utf8)
        let secret = DigestMD5Secret.hash(authid: login, realm: realm, password: credentials.password)
        let colon = UInt8(ascii: ":")
        let sessionKey = HashAlgorithm.md5.digest(secret + [colon] + nonce + [colon] + Array(clientNonce.utf8))
        let nonceCount = "00000001"
        func kd(_ a2: String) -> [UInt8] {
            let data =
                Array(Hex.encode(sessionKey).utf8) + [colon] + nonce + [colon]
                + Array(
                    (nonceCount + ":" + clientNonce + ":auth:" + Hex.encode(HashAlgorithm.md5.digest(a2.utf8))).utf8
                )
            return Array(Hex.encode(HashAlgorithm.md5.digest(data)).utf8)
        }
        var response = Array("username=".utf8) + Self.quoted(login)
        if !realm.isEmpty { response += Array(",realm=".utf8) + Self.quoted(realm) }
        response += Array(",nonce=".utf8) + Self.quoted(nonce)
        response += Array(",cnonce=".utf8) + Self.quoted(Array(clientNonce.utf8))
        response += Array(",nc=\(nonceCount),qop=auth,digest-uri=".utf8) + Self.quoted(Array(digestURI.utf8))
        response += Array(",response=".utf8) + kd("AUTHENTICATE:" + digestURI)
        if challenge["charset"] == Array("utf-8".utf8) { response += Array(",charset=utf-8".utf8) }
        return (response, kd(":" + digestURI))
    }

    /// `"value"` with `"` and `\` escaped.
    private static func quoted(_ value: [UInt8]) -> [UInt8] {
        let quote = UInt8(ascii: "\"")
        let backslash = UInt8(ascii: "\\")
        return [quote] + value.flatMap { $0 == quote || $0 == backslash ? [backslash, $0] : [$0] } + [quote]
    }
}
