import SASLDB

/// The SCRAM state machine shared by every variant.
package struct SCRAMServerExchange: Sendable {
    /// See ``SCRAMMechanism/maximumMessageLength``.
    package static let maximumMessageLength = 4096

    /// The length of the server's nonce part in random bytes (24 base64 characters).
    static let serverNonceLength = 18

    private let hash: SCRAMHash
    private let usesChannelBinding: Bool
    private let context: SASLServerContext
    private let iterations: Int
    private let channelBindings: [SCRAMChannelBinding]
    private let fixedServerNonce: [UInt8]?
    private let fixedDerivedSalt: [UInt8]?
    private var state: State = .initial

    /// The `n=` user name of the client-first message, `=2C` and `=3D` decoded (before SASLprep), once it parsed.
    package private(set) var claimedLogin: [UInt8]?
    /// Whether the client-first message led to a lookup of the user's secrets.
    package private(set) var hasReadSecrets = false

    private enum State: Sendable {
        case initial
        case awaitingClientFirst
        case awaitingClientFinal(Pending)
        case awaitingAcknowledgement(AuthenticatedIdentity)
        case finished
    }

    /// What the server remembers between its first challenge and the client's proof.
    private struct Pending: Sendable {
        var user: UserID
        var login: [UInt8]
        var requestedAuthorizationID: [UInt8]
        /// The exact bytes `c=` must carry once decoded: the GS2 header, then the binding data for `-PLUS`.
        var expectedChannelBinding: [UInt8]
        var clientFirstBare: [UInt8]
        var serverFirst: [UInt8]
        var nonce: [UInt8]
        var storedKey: [UInt8]
        var serverKey: [UInt8]
        /// False when the keys are fake (no usable secret): the proof is still checked, then refused.
        var genuine: Bool
    }

    /// Creates an exchange.
    ///
    /// - Parameters:
    ///   - serverNonce: a fixed server nonce part instead of a random one (tests only; printable ASCII, no comma).
    ///   - derivedSalt: a fixed salt for plaintext and unknown users instead of the per-process derived one (tests).
    package init(
        hash: SCRAMHash,
        usesChannelBinding: Bool,
        context: SASLServerContext,
        iterations: Int = SCRAMVerifier.defaultIterations,
        channelBindings: [SCRAMChannelBinding] = [],
        serverNonce: String? = nil,
        derivedSalt: [UInt8]? = nil
    ) {
        self.hash = hash
        self.usesChannelBinding = usesChannelBinding
        self.context = context
        // PBKDF2 stops the process on a count outside a C int, so a bad setting is clamped rather than trusted.
        self.iterations = min(max(iterations, 1), SCRAMVerifier.maximumIterations)
        self.channelBindings = channelBindings
        self.fixedServerNonce = serverNonce.map { Array($0.utf8) }
        self.fixedDerivedSalt = derivedSalt
    }

    /// Feeds the client's next response.
    package mutating func step(_ response: [UInt8]?) -> SASLStep {
        do {
            return try advance(response)
        } catch {
            // Any failure ends the attempt: a client cannot retry inside one exchange.
            state = .finished
            return .failure(error)
        }
    }

    private mutating func advance(_ response: [UInt8]?) throws(SASLFailure) -> SASLStep {
        switch state {
        case .initial:
            // SCRAM is client-first: without an initial response the server sends an empty challenge to ask for one.
            // An empty initial response is treated the same, since a client-first message is never empty.
            guard let response, !response.isEmpty else {
                state = .awaitingClientFirst
                return .challenge([])
            }
            return try receiveClientFirst(response)
        case .awaitingClientFirst:
            guard let response, !response.isEmpty else {
                throw .malformed(reason: "SCRAM: the client-first message is empty")
            }
            return try receiveClientFirst(response)
        case .awaitingClientFinal(let pending):
            return try receiveClientFinal(response ?? [], pending)
        case .awaitingAcknowledgement(let identity):
            guard response?.isEmpty ?? true else {
                throw .malformed(reason: "SCRAM: the client answered the server signature with data instead of nothing")
            }
            state = .finished
            return .success(identity)
        case .finished:
            throw .malformed(reason: "SCRAM: the exchange is already over")
        }
    }

    // MARK: Client-first

    private mutating func receiveClientFirst(_ message: [UInt8]) throws(SASLFailure) -> SASLStep {
        let parsed = try SCRAMClientFirstMessage(parsing: message)
        claimedLogin = parsed.username
        try parsed.flag.check(usesChannelBinding: usesChannelBinding, offered: channelBindings)

        // One rule for every mechanism: a login names a user byte for byte, as PLAIN, LOGIN, CRAM-MD5, DIGEST-MD5 and
        // poppassd read it and as Cyrus stores and compares names. Mapping it through SASLprep here alone would let
        // SCRAM reach `demo` as `de<SOFT HYPHEN>mo` or a fullwidth `ｄemo` that every other mechanism refuses.
        guard !parsed.username.isEmpty else { throw .malformed(reason: "SCRAM: the user name is empty") }
        let user = try context.user(forLogin: parsed.username)

        let clientNonce = parsed.clientNonce
        let nonce =
            clientNonce
            + (fixedServerNonce ?? Array(Base64.encode(secureRandomBytes(count: Self.serverNonceLength)).utf8))

        let secrets = try context.secrets(for: user)
        hasReadSecrets = true
        let keys = keyMaterial(for: user, secrets: secrets)

        var serverFirst = Array("r=".utf8) + nonce
        serverFirst += Array(",s=\(Base64.encode(keys.salt)),i=\(keys.iterations)".utf8)

        var expectedBinding = parsed.gs2Header
        if case .required(let type) = parsed.flag, let binding = channelBindings.first(where: { $0.type == type }) {
            expectedBinding += binding.data
        }
        state = .awaitingClientFinal(
            Pending(
                user: user,
                login: parsed.username,
                requestedAuthorizationID: parsed.authorizationID,
                expectedChannelBinding: expectedBinding,
                clientFirstBare: parsed.bare,
                serverFirst: serverFirst,
                nonce: nonce,
                storedKey: keys.storedKey,
                serverKey: keys.serverKey,
                genuine: keys.genuine
            )
        )
        return .challenge(serverFirst)
    }

    /// The salt, count and keys for this attempt; every path costs one PBKDF2 run, so timing does not say which.
    private func keyMaterial(for user: UserID, secrets: UserSecrets) -> KeyMaterial {
        let derivedSalt = fixedDerivedSalt ?? SCRAMSaltDerivation.salt(hash: hash, user: user)
        if let plaintext = secrets.plaintext, !plaintext.isEmpty {
            // RFC 5802 prepares the password as a stored string. Cyrus does not prepare at all, so a stored password
            // that SASLprep refuses is used as stored: that is what a Cyrus client sends for it.
            let password = (try? saslPrep(plaintext, allowUnassigned: false)) ?? plaintext
            let salted = hash.saltedPassword(password: password, salt: derivedSalt, iterations: iterations)
            return KeyMaterial(hash: hash, salted: salted, salt: derivedSalt, iterations: iterations, genuine: true)
        }
        if let verifier = secrets.scram, verifier.hash == hash {
            // The stored keys need no PBKDF2; one is run anyway on a dummy so this path costs what the others do.
            _ = hash.saltedPassword(password: Self.dummyPassword, salt: verifier.salt, iterations: verifier.iterations)
            return KeyMaterial(
                salt: verifier.salt,
                iterations: verifier.iterations,
                storedKey: verifier.storedKey,
                serverKey: verifier.serverKey,
                genuine: true
            )
        }
        // Unknown user, disabled user, a verifier of the other hash (Cyrus fails that too), or an empty password.
        let salted = hash.saltedPassword(password: Self.dummyPassword, salt: derivedSalt, iterations: iterations)
        return KeyMaterial(hash: hash, salted: salted, salt: derivedSalt, iterations: iterations, genuine: false)
    }

    /// The password the fake keys are derived from; `genuine == false` refuses any proof, even one made from this.
    package static let dummyPassword = Array("scram-dummy-password".utf8)

    // MARK: Client-final

    private mutating func receiveClientFinal(_ message: [UInt8], _ pending: Pending) throws(SASLFailure) -> SASLStep {
        let parsed = try SCRAMClientFinalMessage(parsing: message, proofLength: hash.digestLength)

        if usesChannelBinding {
            // The binding data proves both ends see the same TLS channel: a difference is a failed authentication.
            guard constantTimeEqual(parsed.channelBinding, pending.expectedChannelBinding) else {
                throw .authenticationFailed(reason: "SCRAM: the channel binding data does not match this connection")
            }
        } else {
            guard parsed.channelBinding == pending.expectedChannelBinding else {
                throw .malformed(reason: "SCRAM: c= does not repeat the GS2 header of the client-first message")
            }
        }
        guard parsed.nonce == pending.nonce else {
            throw .malformed(reason: "SCRAM: the nonce of the client-final message is not the one the server sent")
        }

        let authMessage =
            pending.clientFirstBare + [SCRAMSyntax.comma] + pending.serverFirst + [SCRAMSyntax.comma]
            + parsed.withoutProof
        let clientSignature = hash.hmac(key: pending.storedKey, authMessage)
        let clientKey = zip(parsed.proof, clientSignature).map { $0 ^ $1 }
        let proofMatches = constantTimeEqual(hash.storedKey(clientKey: clientKey), pending.storedKey)
        // Computed before the verdict in every case, so a failure costs what a success costs.
        let serverSignature = hash.hmac(key: pending.serverKey, authMessage)
        guard proofMatches, pending.genuine else { throw .authenticationFailed(reason: Self.credentialsRejected) }

        let authorizationID = try context.authorizationID(
            pending.requestedAuthorizationID,
            for: pending.user,
            login: pending.login
        )
        state = .awaitingAcknowledgement(AuthenticatedIdentity(user: pending.user, authorizationID: authorizationID))
        return .challenge(Array("v=\(Base64.encode(serverSignature))".utf8))
    }

    /// One reason for every credential failure, so that not even the log line's shape depends on why.
    static let credentialsRejected = "SCRAM: unknown user, disabled user, no usable secret or wrong password"
}

/// Salt, iteration count and keys for one attempt.
private struct KeyMaterial {
    var salt: [UInt8]
    var iterations: Int
    var storedKey: [UInt8]
    var serverKey: [UInt8]
    var genuine: Bool

    init(salt: [UInt8], iterations: Int, storedKey: [UInt8], serverKey: [UInt8], genuine: Bool) {
        self.salt = salt
        self.iterations = iterations
        self.storedKey = storedKey
        self.serverKey = serverKey
        self.genuine = genuine
    }

    init(hash: SCRAMHash, salted: [UInt8], salt: [UInt8], iterations: Int, genuine: Bool) {
        self.init(
            salt: salt,
            iterations: iterations,
            storedKey: hash.storedKey(clientKey: hash.clientKey(saltedPassword: salted)),
            serverKey: hash.serverKey(saltedPassword: salted),
            genuine: genuine
        )
    }
}
