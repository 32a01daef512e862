/// A property name of a sasldb record.
public struct Property: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The name's bytes as stored in the key.
    public var bytes: [UInt8]

    /// Creates a property from its name.
    public init(_ name: String) { self.bytes = Array(name.utf8) }

    /// Creates a property from raw key bytes.
    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// The plaintext password, used by every mechanism when present.
    public static let userPassword = Property("userPassword")
    /// The 32-byte HMAC-MD5 precomputed state for CRAM-MD5.
    public static let cramMD5 = Property("cmusaslsecretCRAM-MD5")
    /// The 16-byte MD5(user:realm:password) for DIGEST-MD5.
    public static let digestMD5 = Property("cmusaslsecretDIGEST-MD5")
    /// The salted MD5 of the SASLv1 `PLAIN` secret, written only by sasldbconverter2.
    public static let plainSecret = Property("cmusaslsecretPLAIN")
    /// The RFC 5803 SCRAM verifier.
    public static let authPassword = Property("authPassword")
    /// The OTP state written by Cyrus's OTP plugin.
    public static let otp = Property("cmusaslsecretOTP")
    /// The SRP verifier written by Cyrus's SRP plugin.
    public static let srp = Property("cmusaslsecretSRP")

    /// The properties that hold a secret Cyrus or we can authenticate against.
    public static let secrets: [Property] = [userPassword, cramMD5, digestMD5, plainSecret, authPassword]

    /// Everything a user can log in with, in Cyrus or here: what `disable` puts aside.
    public static let loginSecrets: [Property] = secrets + [otp, srp]

    /// Every property name Cyrus 2.1.28 itself writes or reads.
    public static let known: Set<Property> = [userPassword, cramMD5, digestMD5, plainSecret, authPassword, otp, srp]

    public var description: String { String(decoding: bytes, as: UTF8.self) }

    public static func < (lhs: Property, rhs: Property) -> Bool { lhs.bytes.precedesBytewise(rhs.bytes) }

    public func hash(into hasher: inout Hasher) { bytes.hashBytes(into: &hasher) }
}
