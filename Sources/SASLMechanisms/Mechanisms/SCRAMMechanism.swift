import SASLDB

// MARK: - Public surface

/// One member of the SCRAM family: its hash and whether it is the channel-binding (`-PLUS`) variant.
public protocol SCRAMVariant: Sendable {
    /// The hash of the mechanism.
    static var hash: SCRAMHash { get }
    /// Whether this is the `-PLUS` variant, which requires channel binding (RFC 5802 §6).
    static var usesChannelBinding: Bool { get }
}

/// SCRAM-SHA-1 (RFC 5802).
public enum SCRAMSHA1: SCRAMVariant {
    public static var hash: SCRAMHash { .sha1 }
    public static var usesChannelBinding: Bool { false }
}

/// SCRAM-SHA-256 (RFC 7677).
public enum SCRAMSHA256: SCRAMVariant {
    public static var hash: SCRAMHash { .sha256 }
    public static var usesChannelBinding: Bool { false }
}

/// SCRAM-SHA-1-PLUS (RFC 5802 with channel binding).
public enum SCRAMSHA1Plus: SCRAMVariant {
    public static var hash: SCRAMHash { .sha1 }
    public static var usesChannelBinding: Bool { true }
}

/// SCRAM-SHA-256-PLUS (RFC 7677 with channel binding).
public enum SCRAMSHA256Plus: SCRAMVariant {
    public static var hash: SCRAMHash { .sha256 }
    public static var usesChannelBinding: Bool { true }
}

/// The SCRAM-SHA-1 server mechanism.
public typealias SCRAMSHA1Mechanism = SCRAMMechanism<SCRAMSHA1>
/// The SCRAM-SHA-256 server mechanism.
public typealias SCRAMSHA256Mechanism = SCRAMMechanism<SCRAMSHA256>
/// The SCRAM-SHA-1-PLUS server mechanism.
public typealias SCRAMSHA1PlusMechanism = SCRAMMechanism<SCRAMSHA1Plus>
/// The SCRAM-SHA-256-PLUS server mechanism.
public typealias SCRAMSHA256PlusMechanism = SCRAMMechanism<SCRAMSHA256Plus>

/// A channel binding (RFC 5056) the TLS layer can offer to the `-PLUS` mechanisms.
public struct SCRAMChannelBinding: Sendable, Equatable {
    /// The type name the client names after `p=`, for example `tls-server-end-point`; compared exactly.
    public var type: String
    /// This connection's binding data, which the client must echo inside `c=`.
    public var data: [UInt8]

    /// Creates a binding.
    public init(type: String, data: [UInt8]) {
        self.type = type
        self.data = data
    }

    /// `tls-server-end-point` (RFC 5929 §4): `data` is the hash of the server certificate, computed with the
    /// certificate's signature hash (SHA-256 when that is MD5 or SHA-1).
    public static func tlsServerEndPoint(_ data: [UInt8]) -> SCRAMChannelBinding {
        SCRAMChannelBinding(type: "tls-server-end-point", data: data)
    }

    /// `tls-exporter` (RFC 9266): `data` is the 32-byte exporter value with label `EXPORTER-Channel-Binding`.
    public static func tlsExporter(_ data: [UInt8]) -> SCRAMChannelBinding {
        SCRAMChannelBinding(type: "tls-exporter", data: data)
    }
}

/// The server side of a SCRAM mechanism (RFC 5802, RFC 7677) for one authentication attempt.
///
/// The exchange is: client-first (`gs2-header n=user,r=cnonce`) → challenge `r=nonce,s=salt,i=count` → client-final
/// (`c=…,r=nonce,p=proof`) → challenge `v=signature` → the client's empty response → success.
///
/// Secrets are chosen as Cyrus does: a `userPassword` wins (the server derives a salt that is stable per user and per
/// process); otherwise an `authPassword` verifier of this mechanism's hash; otherwise (unknown user, disabled user, a
/// verifier of another hash) the exchange runs to the end against a fake salt and fake keys and fails exactly like a
/// wrong password, after the same amount of work.
///
/// Every client message is bounded by ``maximumMessageLength``; names and passwords are prepared with SASLprep.
public struct SCRAMMechanism<Variant: SCRAMVariant>: SASLServerMechanism {
    /// `SCRAM-SHA-1`, `SCRAM-SHA-256`, or either with `-PLUS`.
    public static var name: String {
        Variant.hash.mechanismName + (Variant.usesChannelBinding ? "-PLUS" : "")
    }

    /// The longest client message accepted, in bytes; longer ones fail with ``SASLFailure/tooLong(limit:)``.
    ///
    /// A client-first message holds two escaped names of at most 255 bytes (tripled by `=2C` escapes) and a nonce;
    /// a client-final one holds the base64 GS2 header with binding data, the nonce and a proof. Real clients send
    /// well under 300 bytes.
    public static var maximumMessageLength: Int { SCRAMServerExchange.maximumMessageLength }

    private var exchange: SCRAMServerExchange

    /// Creates the mechanism for one attempt.
    ///
    /// - Parameters:
    ///   - context: where secrets are read and how names map to users.
    ///   - iterations: the PBKDF2 count used with a plaintext `userPassword` and for unknown users (Cyrus's
    ///     `scram_iteration_counter`); clamped to 1...``SCRAMVerifier/maximumIterations``. Keep it equal to the count
    ///     of stored verifiers, so that the count announced does not tell stored users from unknown ones.
    ///   - channelBindings: the bindings this connection offers. Pass them exactly when the `-PLUS` variant is
    ///     advertised: a non-PLUS mechanism then refuses a client that says `y` (it believes the server cannot bind,
    ///     a sign of a downgrade), and a `-PLUS` mechanism accepts only these types. Empty for a `-PLUS` mechanism
    ///     means every attempt fails.
    public init(
        context: SASLServerContext,
        iterations: Int = SCRAMVerifier.defaultIterations,
        channelBindings: [SCRAMChannelBinding] = []
    ) {
        exchange = SCRAMServerExchange(
            hash: Variant.hash,
            usesChannelBinding: Variant.usesChannelBinding,
            context: context,
            iterations: iterations,
            channelBindings: channelBindings
        )
    }

    /// Wraps a prepared exchange (tests fix the server nonce and the derived salt this way).
    package init(exchange: SCRAMServerExchange) {
        self.exchange = exchange
    }

    /// Feeds the client's next response; see ``SASLServerMechanism/step(_:)``.
    public mutating func step(_ response: [UInt8]?) -> SASLStep {
        exchange.step(response)
    }
}

// MARK: - State machine

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
        let parsed = try ClientFirstMessage(parsing: message)
        try checkChannelBindingFlag(parsed.flag)

        let prepared = try saslPrep(parsed.username, allowUnassigned: true)
        guard !prepared.isEmpty else { throw .malformed(reason: "SCRAM: the user name is empty after SASLprep") }
        let user = try context.user(forLogin: prepared)

        let clientNonce = parsed.clientNonce
        let nonce =
            clientNonce
            + (fixedServerNonce ?? Array(Base64.encode(secureRandomBytes(count: Self.serverNonceLength)).utf8))

        let secrets = try context.secrets(for: user)
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
                login: prepared,
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

    /// Applies RFC 5802 §6 to the client's channel-binding flag.
    private func checkChannelBindingFlag(_ flag: ChannelBindingFlag) throws(SASLFailure) {
        switch (flag, usesChannelBinding) {
        case (.unsupported, false):
            return
        case (.supportedButNotOffered, false):
            // "y": the client could bind but saw no -PLUS. If we did offer -PLUS, someone removed it on the way.
            guard channelBindings.isEmpty else {
                throw .malformed(
                    reason: "SCRAM: the client says the server cannot bind channels, but -PLUS is offered (downgrade?)"
                )
            }
        case (.required, false):
            throw .malformed(reason: "SCRAM: the client asks for channel binding (p=) with a mechanism without -PLUS")
        case (.unsupported, true), (.supportedButNotOffered, true):
            throw .malformed(reason: "SCRAM: a -PLUS mechanism requires the channel-binding flag p=")
        case (.required(let type), true):
            guard channelBindings.contains(where: { $0.type == type }) else {
                throw .malformed(reason: "SCRAM: the channel binding type the client asks for is not available")
            }
        }
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
        let parsed = try ClientFinalMessage(parsing: message, proofLength: hash.digestLength)

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
            pending.clientFirstBare + [comma] + pending.serverFirst + [comma] + parsed.withoutProof
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

/// The salt the server announces for a user without a stored verifier.
///
/// It must be the same on every attempt (a salt that changes would tell an unknown user from a known one) and must
/// not be predictable from outside (or a precomputed dictionary would work for plaintext users), hence an HMAC under a
/// random key drawn once per process. The mechanism name is part of the input so that comparing the salts of the two
/// hashes says nothing either.
package enum SCRAMSaltDerivation {
    private static let key = secureRandomBytes(count: 32)

    /// The first ``SCRAMVerifier/saltLength`` bytes of HMAC-SHA-256(key, mechanism NUL authid NUL realm).
    package static func salt(hash: SCRAMHash, user: UserID) -> [UInt8] {
        let input = Array(hash.mechanismName.utf8) + [0] + user.authid + [0] + user.realm
        return Array(HashAlgorithm.sha256.hmac(key: key, input).prefix(SCRAMVerifier.saltLength))
    }
}

// MARK: - Parsing

private let comma = UInt8(ascii: ",")
private let equals = UInt8(ascii: "=")

/// The gs2-cbind-flag of RFC 5802 §7.
private enum ChannelBindingFlag: Equatable {
    /// `n`: the client does not support channel binding.
    case unsupported
    /// `y`: the client supports it but thinks the server does not.
    case supportedButNotOffered
    /// `p=<type>`: the client requires this binding type.
    case required(String)
}

/// Attribute names RFC 5802 defines; anywhere else than their own place they are an error, not an extension.
private let reservedAttributes: Set<UInt8> = Set("acimnprsve".utf8)

/// Checks what every client message must satisfy before it is parsed.
private func checkEnvelope(_ message: [UInt8], what: String) throws(SASLFailure) {
    guard message.count <= SCRAMServerExchange.maximumMessageLength else {
        throw .tooLong(limit: SCRAMServerExchange.maximumMessageLength)
    }
    guard String(validating: message, as: UTF8.self) != nil else {
        throw .malformed(reason: "SCRAM: the \(what) message is not valid UTF-8")
    }
    guard !message.contains(0) else { throw .malformed(reason: "SCRAM: the \(what) message contains NUL") }
}

/// One `name=value` attribute of a SCRAM message; the value is a slice of the message, so its position is known.
private typealias Attribute = (name: UInt8, value: ArraySlice<UInt8>)

/// Splits `text` into `name=value` attributes, checking the shape RFC 5802 gives every one: one ASCII letter, `=`,
/// and a non-empty value.
private func attributes(of text: ArraySlice<UInt8>, what: String) throws(SASLFailure) -> [Attribute] {
    var result: [Attribute] = []
    for piece in text.split(separator: comma, omittingEmptySubsequences: false) {
        guard piece.count >= 2, let name = piece.first, isASCIILetter(name),
            piece[piece.startIndex + 1] == equals
        else {
            throw .malformed(reason: "SCRAM: an attribute of the \(what) message is not of the form x=value")
        }
        let value = piece.dropFirst(2)
        guard !value.isEmpty else {
            throw .malformed(
                reason: "SCRAM: the attribute \(Character(Unicode.Scalar(name)))= of the \(what) message is empty"
            )
        }
        result.append((name, value))
    }
    return result
}

/// Rejects a defined attribute where only extensions may stand (RFC 5802 §5.1: unknown extensions are ignored).
private func checkExtensions(
    _ extensions: ArraySlice<Attribute>,
    what: String
) throws(SASLFailure) {
    for attribute in extensions where reservedAttributes.contains(attribute.name) {
        let name = Character(Unicode.Scalar(attribute.name))
        throw .malformed(reason: "SCRAM: the attribute \(name)= is repeated or out of place in the \(what) message")
    }
}

private func isASCIILetter(_ byte: UInt8) -> Bool {
    (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
}

/// Decodes a saslname: `=2C` is a comma, `=3D` an equals sign, and any other `=` is an error (RFC 5802 §5.1).
private func decodeSASLName(_ text: ArraySlice<UInt8>, what: String) throws(SASLFailure) -> [UInt8] {
    var output: [UInt8] = []
    output.reserveCapacity(text.count)
    var index = text.startIndex
    while index < text.endIndex {
        let byte = text[index]
        guard byte == equals else {
            output.append(byte)
            index += 1
            continue
        }
        let escape = text[(index + 1)..<min(index + 3, text.endIndex)]
        if escape.elementsEqual("2C".utf8) {
            output.append(comma)
        } else if escape.elementsEqual("3D".utf8) {
            output.append(equals)
        } else {
            throw .malformed(reason: "SCRAM: the \(what) contains '=' not followed by 2C or 3D")
        }
        index += 3
    }
    return output
}

/// A parsed client-first-message.
private struct ClientFirstMessage {
    var flag: ChannelBindingFlag
    var authorizationID: [UInt8]
    /// The GS2 header exactly as sent, up to and including its second comma.
    var gs2Header: [UInt8]
    var username: [UInt8]
    var clientNonce: [UInt8]
    /// client-first-message-bare, which enters the AuthMessage.
    var bare: [UInt8]

    init(parsing message: [UInt8]) throws(SASLFailure) {
        try checkEnvelope(message, what: "client-first")
        guard let flagByte = message.first else { throw .malformed(reason: "SCRAM: the client-first message is empty") }
        var index = message.startIndex
        switch flagByte {
        case UInt8(ascii: "n"):
            flag = .unsupported
            index += 1
        case UInt8(ascii: "y"):
            flag = .supportedButNotOffered
            index += 1
        case UInt8(ascii: "p"):
            guard message.count > 1, message[1] == equals,
                let end = message[2...].firstIndex(of: comma)
            else { throw .malformed(reason: "SCRAM: the GS2 header's p= flag is not followed by a name and a comma") }
            let name = message[2..<end]
            guard !name.isEmpty, name.allSatisfy(Self.isChannelBindingNameCharacter) else {
                throw .malformed(reason: "SCRAM: the channel binding name after p= is empty or has bad characters")
            }
            flag = .required(String(decoding: name, as: UTF8.self))
            index = end
        default:
            throw .malformed(reason: "SCRAM: the GS2 header does not start with n, y or p=")
        }
        guard index < message.endIndex, message[index] == comma else {
            throw .malformed(reason: "SCRAM: the GS2 channel-binding flag is not followed by a comma")
        }
        index += 1
        guard let headerEnd = message[index...].firstIndex(of: comma) else {
            throw .malformed(reason: "SCRAM: the GS2 header does not end with a comma")
        }
        let authorizationField = message[index..<headerEnd]
        if authorizationField.isEmpty {
            authorizationID = []
        } else {
            guard authorizationField.starts(with: "a=".utf8), authorizationField.count > 2 else {
                throw .malformed(reason: "SCRAM: the GS2 header's second field is neither empty nor a=authzid")
            }
            authorizationID = try decodeSASLName(authorizationField.dropFirst(2), what: "authorization identity")
        }
        gs2Header = Array(message[...headerEnd])

        let bareText = message[(headerEnd + 1)...]
        bare = Array(bareText)
        let fields = try attributes(of: bareText, what: "client-first")
        if fields.first?.name == UInt8(ascii: "m") {
            // RFC 5802 §5.1: a server that does not understand a mandatory extension must fail.
            throw .malformed(reason: "SCRAM: the client requires a mandatory extension (m=), which is not supported")
        }
        guard let user = fields.first, user.name == UInt8(ascii: "n") else {
            throw .malformed(reason: "SCRAM: the client-first message does not start with the user name n=")
        }
        guard fields.count > 1, fields[1].name == UInt8(ascii: "r") else {
            throw .malformed(reason: "SCRAM: the client nonce r= does not follow the user name")
        }
        try checkExtensions(fields[2...], what: "client-first")
        username = try decodeSASLName(user.value, what: "user name")
        guard fields[1].value.allSatisfy(isPrintable) else {
            throw .malformed(reason: "SCRAM: the client nonce has characters outside printable ASCII")
        }
        clientNonce = Array(fields[1].value)
    }

    /// cb-name = 1*(ALPHA / DIGIT / "." / "-").
    private static func isChannelBindingNameCharacter(_ byte: UInt8) -> Bool {
        isASCIILetter(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: ".")
            || byte == UInt8(ascii: "-")
    }
}

/// printable = %x21-2B / %x2D-7E (the comma is excluded already by the split).
private func isPrintable(_ byte: UInt8) -> Bool {
    (0x21...0x7E).contains(byte) && byte != comma
}

/// A parsed client-final-message.
private struct ClientFinalMessage {
    /// The decoded `c=` value.
    var channelBinding: [UInt8]
    var nonce: [UInt8]
    var proof: [UInt8]
    /// client-final-message-without-proof, which enters the AuthMessage.
    var withoutProof: [UInt8]

    init(parsing message: [UInt8], proofLength: Int) throws(SASLFailure) {
        try checkEnvelope(message, what: "client-final")
        let fields = try attributes(of: message[...], what: "client-final")
        guard let binding = fields.first, binding.name == UInt8(ascii: "c") else {
            throw .malformed(reason: "SCRAM: the client-final message does not start with the channel binding c=")
        }
        guard fields.count > 1, fields[1].name == UInt8(ascii: "r") else {
            throw .malformed(reason: "SCRAM: the nonce r= does not follow the channel binding")
        }
        guard fields.count > 2, let proofField = fields.last, proofField.name == UInt8(ascii: "p") else {
            throw .malformed(reason: "SCRAM: the client-final message does not end with the proof p=")
        }
        try checkExtensions(fields[2..<(fields.count - 1)], what: "client-final")
        guard let binding = Base64.decode(bytes: binding.value) else {
            throw .malformed(reason: "SCRAM: the channel binding c= is not valid base64")
        }
        guard let proof = Base64.decode(bytes: proofField.value) else {
            throw .malformed(reason: "SCRAM: the proof p= is not valid base64")
        }
        guard proof.count == proofLength else {
            throw .malformed(reason: "SCRAM: the proof is \(proof.count) bytes long instead of \(proofLength)")
        }
        channelBinding = binding
        nonce = Array(fields[1].value)
        self.proof = proof
        // client-final-message-without-proof ends before the three bytes ",p=" that precede the proof's value.
        withoutProof = Array(message[..<(proofField.value.startIndex - 3)])
    }
}
