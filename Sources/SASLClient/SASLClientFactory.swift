import SASLDB

/// Makes a fresh client mechanism by its IANA name, for one authentication attempt.
public enum SASLClientFactory {
    /// The mechanisms this library implements, strongest first.
    public static let supported = [
        SCRAMHash.sha256.mechanismName, SCRAMHash.sha1.mechanismName, DigestMD5Client.name, CRAMMD5Client.name,
        PlainClient.name, LoginClient.name,
    ]

    /// A new client for `name` (case-insensitive).
    ///
    /// - Throws: ``SASLClientError/unsupportedMechanism(_:)`` for a name not in ``supported``.
    public static func make(
        _ name: String,
        credentials: SASLClientCredentials,
        options: SASLClientOptions
    ) throws(SASLClientError) -> any SASLClientMechanism {
        switch name.uppercased() {
        case PlainClient.name: return PlainClient(credentials: credentials)
        case LoginClient.name: return LoginClient(credentials: credentials)
        case CRAMMD5Client.name: return CRAMMD5Client(credentials: credentials)
        case DigestMD5Client.name:
            return DigestMD5Client(credentials: credentials, host: options.host, service: options.service)
        case let upper:
            guard let hash = SCRAMHash(mechanismName: upper) else { throw .unsupportedMechanism(name) }
            return SCRAMClient(hash: hash, credentials: credentials, preparePassword: options.preparePassword)
        }
    }
}
