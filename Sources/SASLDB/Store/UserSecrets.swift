/// The secrets stored for one user, as read in one lookup.
public struct UserSecrets: Sendable {
    /// The user.
    public var user: UserID
    /// The plaintext `userPassword`, which takes priority over every verifier (as in Cyrus).
    public var plaintext: [UInt8]?
    /// The CRAM-MD5 precomputed state, when valid.
    public var cramMD5: CRAMMD5State?
    /// The DIGEST-MD5 hash, when 16 bytes long.
    public var digestMD5: [UInt8]?
    /// The SCRAM verifier, when it parses.
    public var scram: SCRAMVerifier?
    /// The legacy SASLv1 `cmusaslsecretPLAIN` value.
    public var legacyPlain: [UInt8]?

    /// The properties read for a user's secrets.
    static let properties: [Property] = [.userPassword, .cramMD5, .digestMD5, .authPassword, .plainSecret]

    /// Interprets the raw values read for `user`; values that do not parse are left out.
    public init(user: UserID, values: [Property: [UInt8]]) {
        self.user = user
        plaintext = values[.userPassword]
        cramMD5 = values[.cramMD5].flatMap { CRAMMD5State(bytes: $0) }
        digestMD5 = values[.digestMD5].flatMap { $0.count == 16 ? $0 : nil }
        scram = values[.authPassword].flatMap { SCRAMVerifier(parsing: String(decoding: $0, as: UTF8.self)) }
        legacyPlain = values[.plainSecret]
    }

    /// Whether any secret is present that some mechanism can authenticate against.
    public var isEmpty: Bool {
        plaintext == nil && cramMD5 == nil && digestMD5 == nil && scram == nil && legacyPlain == nil
    }

    /// Checks `password` against the secrets, as Cyrus would: the plaintext alone when present, else any verifier.
    ///
    /// Comparisons are constant-time. With no secret at all the same kind of work is done against a dummy, so an
    /// unknown user takes about as long as a wrong password.
    public func verify(password: [UInt8]) -> Bool {
        if let plaintext { return constantTimeEqual(plaintext, password) }
        var matched = false
        if let scram { matched = scram.verify(password: password) || matched }
        if let cramMD5 { matched = cramMD5.matches(password: password) || matched }
        if let digestMD5 {
            let candidate = DigestMD5Secret.hash(authid: user.authid, realm: user.realm, password: password)
            matched = constantTimeEqual(candidate, digestMD5) || matched
        }
        if let legacyPlain { matched = PlainSecret.verify(stored: legacyPlain, password: password) || matched }
        if isEmpty { _ = constantTimeEqual(UserSecrets.dummy, password) }
        return matched
    }

    private static let dummy = [UInt8](repeating: 0x5a, count: 16)
}
