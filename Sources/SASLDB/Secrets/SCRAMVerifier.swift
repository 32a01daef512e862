/// The hash of a SCRAM mechanism (RFC 5802 / RFC 7677).
public enum SCRAMHash: Sendable, CaseIterable, CustomStringConvertible {
    /// SCRAM-SHA-1, what Debian's saslpasswd2 stores when `scram_secret_generate` is on.
    case sha1
    /// SCRAM-SHA-256.
    case sha256

    /// The SASL mechanism name, which is also the first field of the `authPassword` value.
    public var mechanismName: String {
        switch self {
        case .sha1: return "SCRAM-SHA-1"
        case .sha256: return "SCRAM-SHA-256"
        }
    }

    /// The hash for a mechanism name, matched exactly (Cyrus compares it byte for byte).
    public init?(mechanismName: some StringProtocol) {
        guard let hash = Self.allCases.first(where: { $0.mechanismName == mechanismName }) else { return nil }
        self = hash
    }

    /// The mechanism name.
    public var description: String { mechanismName }

    /// The underlying hash function.
    package var algorithm: HashAlgorithm {
        switch self {
        case .sha1: return .sha1
        case .sha256: return .sha256
        }
    }

    /// The length of StoredKey, ServerKey, proofs and signatures.
    package var digestLength: Int { algorithm.digestLength }

    /// H(`data`).
    package func hash(_ data: some Collection<UInt8>) -> [UInt8] { algorithm.digest(data) }

    /// HMAC(`key`, `data`).
    package func hmac(key: some Collection<UInt8>, _ data: some Collection<UInt8>) -> [UInt8] {
        algorithm.hmac(key: key, data)
    }

    /// SaltedPassword := Hi(password, salt, i), which is PBKDF2 with one digest-length block.
    package func saltedPassword(
        password: some Collection<UInt8>,
        salt: some Collection<UInt8>,
        iterations: Int
    ) -> [UInt8] {
        algorithm.pbkdf2(password: password, salt: salt, iterations: iterations, length: digestLength)
    }

    /// ClientKey := HMAC(SaltedPassword, "Client Key").
    package func clientKey(saltedPassword: some Collection<UInt8>) -> [UInt8] {
        hmac(key: saltedPassword, "Client Key".utf8)
    }

    /// StoredKey := H(ClientKey).
    package func storedKey(clientKey: some Collection<UInt8>) -> [UInt8] { hash(clientKey) }

    /// ServerKey := HMAC(SaltedPassword, "Server Key").
    package func serverKey(saltedPassword: some Collection<UInt8>) -> [UInt8] {
        hmac(key: saltedPassword, "Server Key".utf8)
    }
}

/// A SCRAM verifier in RFC 5803 `authPassword` form, the value Cyrus stores under `authPassword`:
/// `<MECH>$<iterations>:<salt-b64>$<StoredKey-b64>:<ServerKey-b64>`.
///
/// It holds no password, but StoredKey and ServerKey allow an offline guessing attack and ServerKey lets a holder
/// impersonate the server: treat the text like the database file itself and keep it out of logs.
public struct SCRAMVerifier: Sendable, CustomStringConvertible {
    /// The mechanism this verifier serves.
    public let hash: SCRAMHash
    /// The PBKDF2 iteration count.
    public let iterations: Int
    /// The salt (16 random bytes when Cyrus or this library generate it).
    public let salt: [UInt8]
    /// H(ClientKey).
    public let storedKey: [UInt8]
    /// HMAC(SaltedPassword, "Server Key").
    public let serverKey: [UInt8]

    /// Cyrus's default for `scram_iteration_counter`.
    public static let defaultIterations = 4096
    /// The salt length Cyrus generates.
    public static let saltLength = 16
    /// The largest iteration count accepted; PBKDF2 in libcrypto counts in a C `int`.
    public static let maximumIterations = Int(Int32.max)
    /// The largest iteration count the Cyrus SCRAM client accepts; higher counts lock out Cyrus-based clients.
    public static let cyrusClientMaximumIterations = 65536

    /// Assembles a verifier from its parts.
    ///
    /// - Throws: ``SASLDBError/invalidValue(_:)`` for an iteration count outside 1...``maximumIterations``, an empty salt
    ///   or keys that are not one digest long.
    public init(hash: SCRAMHash, iterations: Int, salt: [UInt8], storedKey: [UInt8], serverKey: [UInt8]) throws {
        guard (1...Self.maximumIterations).contains(iterations) else {
            throw SASLDBError.invalidValue("the SCRAM iteration count must be between 1 and \(Self.maximumIterations)")
        }
        guard !salt.isEmpty else { throw SASLDBError.invalidValue("the SCRAM salt is empty") }
        guard storedKey.count == hash.digestLength, serverKey.count == hash.digestLength else {
            throw SASLDBError.invalidValue("\(hash) keys must be \(hash.digestLength) bytes long")
        }
        self.hash = hash
        self.iterations = iterations
        self.salt = salt
        self.storedKey = storedKey
        self.serverKey = serverKey
    }

    /// Derives the verifier of `password` with the given salt, as Cyrus's `GenerateScramSecrets` does.
    ///
    /// - Throws: ``SASLDBError/invalidPassword(_:)`` for an empty password (Cyrus refuses it too), and
    ///   ``SASLDBError/invalidValue(_:)`` for a bad iteration count or an empty salt.
    public init(hash: SCRAMHash, password: some Collection<UInt8>, salt: [UInt8], iterations: Int) throws {
        guard !password.isEmpty else { throw SASLDBError.invalidPassword("the password is empty") }
        guard (1...Self.maximumIterations).contains(iterations) else {
            throw SASLDBError.invalidValue("the SCRAM iteration count must be between 1 and \(Self.maximumIterations)")
        }
        guard !salt.isEmpty else { throw SASLDBError.invalidValue("the SCRAM salt is empty") }
        let salted = hash.saltedPassword(password: password, salt: salt, iterations: iterations)
        try self.init(
            hash: hash,
            iterations: iterations,
            salt: salt,
            storedKey: hash.storedKey(clientKey: hash.clientKey(saltedPassword: salted)),
            serverKey: hash.serverKey(saltedPassword: salted)
        )
    }

    /// Derives the verifier of `password` with a fresh random 16-byte salt.
    ///
    /// - Throws: as ``init(hash:password:salt:iterations:)``.
    public init(hash: SCRAMHash, password: some Collection<UInt8>, iterations: Int = defaultIterations) throws {
        try self.init(
            hash: hash,
            password: password,
            salt: SecureRandom.bytes(count: Self.saltLength),
            iterations: iterations
        )
    }

    /// Parses a stored `authPassword` value; `nil` unless it is well formed.
    ///
    /// Leading spaces are skipped as Cyrus does. Everything else is strict: a known mechanism name, a decimal iteration
    /// count without sign or leading zeros in 1...``maximumIterations``, a non-empty salt and both keys in canonical
    /// padded base64, each key one digest long, and nothing after ServerKey.
    public init?(parsing text: some StringProtocol) {
        self.init(bytes: Array(text.utf8))
    }

    /// Parses a stored `authPassword` value given as raw record bytes; see ``init(parsing:)``.
    public init?(bytes value: some Collection<UInt8>) {
        let text = Array(value.drop { $0 == UInt8(ascii: " ") })
        let dollar = UInt8(ascii: "$")
        let colon = UInt8(ascii: ":")
        guard let mechanismEnd = text.firstIndex(of: dollar),
            let hash = SCRAMHash(mechanismName: String(decoding: text[..<mechanismEnd], as: UTF8.self))
        else { return nil }
        let afterMechanism = text[(mechanismEnd + 1)...]
        guard let countEnd = afterMechanism.firstIndex(of: colon),
            let iterations = Self.parseIterations(afterMechanism[..<countEnd])
        else { return nil }
        let afterCount = text[(countEnd + 1)...]
        guard let saltEnd = afterCount.firstIndex(of: dollar),
            let salt = Base64.decode(bytes: afterCount[..<saltEnd]), !salt.isEmpty
        else { return nil }
        let afterSalt = text[(saltEnd + 1)...]
        guard let storedEnd = afterSalt.firstIndex(of: colon),
            let storedKey = Base64.decode(bytes: afterSalt[..<storedEnd]),
            let serverKey = Base64.decode(bytes: text[(storedEnd + 1)...])
        else { return nil }
        guard
            let verifier = try? SCRAMVerifier(
                hash: hash,
                iterations: iterations,
                salt: salt,
                storedKey: storedKey,
                serverKey: serverKey
            )
        else { return nil }
        self = verifier
    }

    /// The `authPassword` text, as Cyrus writes it.
    public var text: String {
        "\(hash.mechanismName)$\(iterations):\(Base64.encode(salt))$\(Base64.encode(storedKey)):\(Base64.encode(serverKey))"
    }

    /// The `authPassword` text (same as ``text``).
    public var description: String { text }

    /// The record value: ``text`` as bytes, with no terminator.
    public var bytes: [UInt8] { Array(text.utf8) }

    /// Whether `password` produces this verifier, recomputing PBKDF2 with the stored salt and iteration count and
    /// comparing both keys in constant time.
    public func verify(password: some Collection<UInt8>) -> Bool {
        let salted = hash.saltedPassword(password: password, salt: salt, iterations: iterations)
        let computed =
            hash.storedKey(clientKey: hash.clientKey(saltedPassword: salted)) + hash.serverKey(saltedPassword: salted)
        return constantTimeEqual(storedKey + serverKey, computed)
    }

    /// A canonical positive decimal that fits the allowed range, or `nil`.
    private static func parseIterations(_ digits: some Collection<UInt8>) -> Int? {
        guard let first = digits.first, first != UInt8(ascii: "0"), digits.count <= 10 else { return nil }
        var value = 0
        for digit in digits {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(digit) else { return nil }
            value = value * 10 + Int(digit - UInt8(ascii: "0"))
        }
        return value <= maximumIterations ? value : nil
    }
}
