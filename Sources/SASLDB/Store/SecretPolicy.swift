/// Which secrets the store writes when a password is set.
///
/// Cyrus uses `userPassword` whenever it exists and ignores every verifier beside it, so a policy without plaintext
/// also removes an old `userPassword`; every secret the policy does not ask for is removed too, so no secret of an
/// old password survives a change.
public struct SecretPolicy: Sendable, Equatable, CustomStringConvertible {
    /// Write the plaintext `userPassword` (what Cyrus's saslpasswd2 writes).
    public var plaintext: Bool
    /// Write `cmusaslsecretCRAM-MD5`, the HMAC-MD5 precomputed state.
    public var cramMD5: Bool
    /// Write `cmusaslsecretDIGEST-MD5`, MD5(user:realm:password).
    public var digestMD5: Bool
    /// Write an `authPassword` SCRAM verifier with this hash; sasldb holds one value per key, so only one.
    public var scram: SCRAMHash?
    /// The PBKDF2 iteration count of new SCRAM verifiers (Cyrus's client refuses more than 65536).
    public var scramIterations: Int

    /// Creates a policy.
    public init(
        plaintext: Bool = true,
        cramMD5: Bool = false,
        digestMD5: Bool = false,
        scram: SCRAMHash? = nil,
        scramIterations: Int = SecretPolicy.defaultSCRAMIterations
    ) {
        self.plaintext = plaintext
        self.cramMD5 = cramMD5
        self.digestMD5 = digestMD5
        self.scram = scram
        self.scramIterations = scramIterations
    }

    /// What Cyrus's saslpasswd2 writes by default: the plaintext only.
    public static let cyrusDefault = SecretPolicy()

    /// No plaintext on disk: every verifier our mechanisms can check, and nothing else.
    public static let noPlaintext = SecretPolicy(plaintext: false, cramMD5: true, digestMD5: true, scram: .sha256)

    /// The default iteration count, as Cyrus's `scram_iteration_counter`.
    public static let defaultSCRAMIterations = 4096
    /// The largest count Cyrus's SCRAM client accepts.
    public static let maximumSCRAMIterations = 65536

    /// Checks that the policy writes at least one secret and a usable iteration count.
    public func validate() throws {
        guard plaintext || cramMD5 || digestMD5 || scram != nil else {
            throw SASLDBError.invalidValue("the secret policy writes no secret at all, so nobody could log in")
        }
        guard (1...SecretPolicy.maximumSCRAMIterations).contains(scramIterations) else {
            throw SASLDBError.invalidValue(
                "the SCRAM iteration count must be between 1 and \(SecretPolicy.maximumSCRAMIterations)"
            )
        }
    }

    /// The names of the secrets written, for messages and `check`.
    public var description: String {
        var names: [String] = []
        if plaintext { names.append("plaintext") }
        if cramMD5 { names.append("cram-md5") }
        if digestMD5 { names.append("digest-md5") }
        if let scram { names.append(scram.mechanismName.lowercased()) }
        return names.joined(separator: ",")
    }
}
