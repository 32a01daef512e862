/// What some mechanisms need to know beyond the credentials.
public struct SASLClientOptions: Sendable {
    /// Prepares a password before SCRAM hashes it; `nil` when the password cannot be prepared.
    public typealias PasswordPreparation = @Sendable (_ password: [UInt8]) -> [UInt8]?

    /// The server's host name, for DIGEST-MD5's `digest-uri` (`<service>/<host>`).
    public var host: String
    /// The service name of DIGEST-MD5's `digest-uri`.
    public var service: String
    /// How SCRAM prepares the password. RFC 5802 asks for SASLprep (`saslPrep(_:allowUnassigned:)` of
    /// SASLMechanisms, with `allowUnassigned: false`); the default uses the password as it is, as Cyrus's client
    /// does, which is the same for every ASCII password.
    public var preparePassword: PasswordPreparation

    /// Creates options.
    public init(host: String, service: String = "smtp", preparePassword: @escaping PasswordPreparation = { $0 }) {
        self.host = host
        self.service = service
        self.preparePassword = preparePassword
    }
}
