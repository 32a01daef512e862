/// The legacy `cmusaslsecretPLAIN` value that sasldbconverter2 copies from a SASLv1 `PLAIN` record.
///
/// 33 bytes: salt (16) ‖ 0x00 ‖ MD5(salt ‖ "sasldb" ‖ password). Cyrus 2 never writes it but `sasl_checkpass` still
/// accepts it, so it can only be verified, not created.
public struct PlainSecret: Sendable {
    /// The length of a stored value.
    public static let byteCount = 33

    private static let saltLength = 16
    private static let label = Array("sasldb".utf8)

    /// The stored value.
    public let bytes: [UInt8]

    /// Wraps a stored value; `nil` unless it is 33 bytes with the 0x00 separator after the salt, since Cyrus compares
    /// that byte too and no other value can ever verify.
    public init?(bytes: some Collection<UInt8>) {
        let bytes = Array(bytes)
        guard bytes.count == Self.byteCount, bytes[Self.saltLength] == 0 else { return nil }
        self.bytes = bytes
    }

    /// Whether `password` matches, compared in constant time.
    public func verify(password: some Collection<UInt8>) -> Bool {
        let salt = bytes[0..<Self.saltLength]
        let expected = HashAlgorithm.md5.digest(Array(salt) + Self.label + Array(password))
        return constantTimeEqual(bytes[(Self.saltLength + 1)...], expected)
    }

    /// Whether `password` matches the stored value `stored`; `false` when `stored` is malformed.
    public static func verify(stored: some Collection<UInt8>, password: some Collection<UInt8>) -> Bool {
        PlainSecret(bytes: stored)?.verify(password: password) ?? false
    }
}
