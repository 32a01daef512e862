/// The `cmusaslsecretDIGEST-MD5` value: the 16 raw bytes of MD5(user ":" realm ":" password), DIGEST-MD5's H(A1) base.
///
/// Cyrus converts each of user, realm and password to ISO-8859-1 when the whole part is representable (see `Latin1`),
/// as RFC 2831 asks of clients, so the stored value matches what a real client computes for non-ASCII passwords.
public struct DigestMD5Secret: Sendable {
    /// The length of a stored secret.
    public static let byteCount = 16

    /// The stored value.
    public let bytes: [UInt8]

    /// Wraps a stored value; `nil` unless it is exactly 16 bytes.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Self.byteCount else { return nil }
        self.bytes = Array(bytes)
    }

    /// Computes the secret of `password` for the record's `authid` and `realm`.
    ///
    /// - Parameters:
    ///   - authid: the user's name without the realm, as in the record key.
    ///   - realm: the user's realm, as in the record key.
    ///   - password: the password, UTF-8.
    ///   - convertingToLatin1: `true` for what Cyrus stores and what clients send; `false` for the raw UTF-8 form,
    ///     which the Cyrus server also tries when it has the plaintext password.
    public init(
        authid: some Collection<UInt8>,
        realm: some Collection<UInt8>,
        password: some Collection<UInt8>,
        convertingToLatin1: Bool = true
    ) {
        self.bytes = Self.hash(
            authid: authid,
            realm: realm,
            password: password,
            convertingToLatin1: convertingToLatin1
        )
    }

    /// Computes the secret of `password` for `user`.
    public init(user: UserID, password: some Collection<UInt8>, convertingToLatin1: Bool = true) {
        self.init(authid: user.authid, realm: user.realm, password: password, convertingToLatin1: convertingToLatin1)
    }

    /// Whether this is the Latin-1-converted secret of `password` for `user`, the only form a real client can match;
    /// compared in constant time.
    public func matches(user: UserID, password: some Collection<UInt8>) -> Bool {
        constantTimeEqual(bytes, DigestMD5Secret(user: user, password: password).bytes)
    }

    /// The 16-byte MD5(authid ":" realm ":" password), each part Latin-1-converted when `convertingToLatin1` is set
    /// and the part is representable (Cyrus's `DigestCalcSecret`).
    public static func hash(
        authid: some Collection<UInt8>,
        realm: some Collection<UInt8>,
        password: some Collection<UInt8>,
        convertingToLatin1: Bool = true
    ) -> [UInt8] {
        let prepare: ([UInt8]) -> [UInt8] = { convertingToLatin1 ? Latin1.convertIfRepresentable($0) : $0 }
        let colon = UInt8(ascii: ":")
        // Every buffer that held the password is overwritten before it is released.
        var raw = Array(password)
        var prepared = prepare(raw)
        var input = prepare(Array(authid)) + [colon] + prepare(Array(realm)) + [colon]
        input.reserveCapacity(input.count + prepared.count)
        input += prepared
        defer {
            raw.overwriteWithZeros()
            prepared.overwriteWithZeros()
            input.overwriteWithZeros()
        }
        return HashAlgorithm.md5.digest(input)
    }
}
