import SASLDB

/// The client side of SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677) without channel binding (`n,,`).
///
/// 1. The initial response is the client-first-message `n,,n=<login>,r=<client nonce>`.
/// 2. The server-first-message (`r=`, `s=`, `i=`) is answered with the client-final-message, whose proof is derived
///    from the password, prepared by ``SASLClientOptions/preparePassword``, salted and iterated as the server says
///    (at most ``maximumIterations`` times, so a hostile server cannot make the client spin).
/// 3. The server-final-message's signature `v=` is checked: a wrong one means the server does not know the password,
///    and throws. The response to it is empty, as SMTP has no other way to deliver it.
public struct SCRAMClient: SASLClientMechanism {
    /// The most PBKDF2 iterations a server may ask for.
    public static let maximumIterations = 1_000_000

    private enum State {
        case initial
        case awaitingServerFirst(clientFirstBare: String)
        case awaitingServerFinal(signature: [UInt8])
        case done
    }

    /// The hash this client uses.
    public let hash: SCRAMHash
    private let credentials: SASLClientCredentials
    private let preparePassword: SASLClientOptions.PasswordPreparation
    private let clientNonce: String
    private var state = State.initial

    /// The IANA name: `SCRAM-SHA-1` or `SCRAM-SHA-256`.
    public var name: String { hash.mechanismName }

    /// Creates a client.
    ///
    /// - Parameters:
    ///   - hash: SHA-1 or SHA-256.
    ///   - credentials: the login, sent as `n=`, and the password.
    ///   - preparePassword: how the password is prepared before hashing (see ``SASLClientOptions/preparePassword``).
    ///   - clientNonce: the client's nonce, printable ASCII without `,`; a fresh random one unless a test needs a
    ///     fixed value.
    public init(
        hash: SCRAMHash,
        credentials: SASLClientCredentials,
        preparePassword: @escaping SASLClientOptions.PasswordPreparation = { $0 },
        clientNonce: String? = nil
    ) {
        self.hash = hash
        self.credentials = credentials
        self.preparePassword = preparePassword
        self.clientNonce = clientNonce ?? Base64.encode(SecureRandom.bytes(count: 18))
    }

    /// The client-first-message.
    public mutating func initialResponse() throws(SASLClientError) -> [UInt8]? {
        guard case .initial = state else { return nil }
        let bare = "n=" + Self.saslName(credentials.user) + ",r=" + clientNonce
        state = .awaitingServerFirst(clientFirstBare: bare)
        return Array(("n,," + bare).utf8)
    }

    /// The client-final-message to the server-first-message, then the empty response to a correct server signature.
    ///
    /// - Throws: ``SASLClientError/malformedChallenge(mechanism:reason:)`` for a server-first-message whose nonce does
    ///   not extend ours, whose salt is not base64, whose iteration count is out of bounds, or that asks for a
    ///   mandatory extension; ``SASLClientError/serverError(mechanism:reason:)`` for an `e=` message;
    ///   ``SASLClientError/serverNotAuthenticated(mechanism:)`` for a wrong signature;
    ///   ``SASLClientError/unusablePassword(mechanism:)`` when the password preparation refuses the password.
    public mutating func respond(to challenge: [UInt8]) throws(SASLClientError) -> [UInt8] {
        switch state {
        case .initial, .done:
            throw .unexpectedChallenge(mechanism: name)
        case .awaitingServerFirst(let clientFirstBare):
            state = .done
            let (response, signature) = try clientFinal(to: challenge, clientFirstBare: clientFirstBare)
            state = .awaitingServerFinal(signature: signature)
            return response
        case .awaitingServerFinal(let expected):
            state = .done
            let message = try SCRAMServerMessage(parsing: challenge, mechanism: name)
            if let error = message["e"] { throw .serverError(mechanism: name, reason: error) }
            guard let value = message["v"], let signature = Base64.decode(value) else {
                throw .malformedChallenge(mechanism: name, reason: "the server-final-message has no signature")
            }
            guard constantTimeEqual(signature, expected) else { throw .serverNotAuthenticated(mechanism: name) }
            return []
        }
    }

    /// The client-final-message and the server signature it must be answered with.
    private func clientFinal(
        to challenge: [UInt8],
        clientFirstBare: String
    ) throws(SASLClientError) -> ([UInt8], [UInt8]) {
        let message = try SCRAMServerMessage(parsing: challenge, mechanism: name)
        if let error = message["e"] { throw .serverError(mechanism: name, reason: error) }
        guard message.names.first != "m" else {
            throw .malformedChallenge(mechanism: name, reason: "the server asks for an unknown mandatory extension")
        }
        guard let nonce = message["r"], nonce.hasPrefix(clientNonce), nonce.count > clientNonce.count else {
            throw .malformedChallenge(mechanism: name, reason: "the server's nonce does not extend the client's")
        }
        guard let salt = message["s"].flatMap({ Base64.decode($0) }), !salt.isEmpty else {
            throw .malformedChallenge(mechanism: name, reason: "the salt is missing or not base64")
        }
        guard let iterations = message["i"].flatMap({ Int($0) }), (1...Self.maximumIterations).contains(iterations)
        else {
            throw .malformedChallenge(
                mechanism: name,
                reason: "the iteration count is missing or not between 1 and \(Self.maximumIterations)"
            )
        }
        guard let password = preparePassword(credentials.password) else { throw .unusablePassword(mechanism: name) }
        let salted = hash.saltedPassword(password: password, salt: salt, iterations: iterations)
        let clientKey = hash.clientKey(saltedPassword: salted)
        let withoutProof = "c=biws,r=" + nonce
        let authMessage =
            Array(clientFirstBare.utf8) + [UInt8(ascii: ",")] + challenge + Array(("," + withoutProof).utf8)
        let clientSignature = hash.hmac(key: hash.storedKey(clientKey: clientKey), authMessage)
        let proof = zip(clientKey, clientSignature).map { $0 ^ $1 }
        let serverSignature = hash.hmac(key: hash.serverKey(saltedPassword: salted), authMessage)
        return (Array((withoutProof + ",p=" + Base64.encode(proof)).utf8), serverSignature)
    }

    /// A login as a SCRAM `saslname`: `=` and `,` escaped as `=3D` and `=2C`.
    private static func saslName(_ login: String) -> String {
        var escaped = ""
        for character in login {
            switch character {
            case "=": escaped += "=3D"
            case ",": escaped += "=2C"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
