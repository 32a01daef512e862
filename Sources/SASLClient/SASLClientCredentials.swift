/// Who logs in, and with which password.
public struct SASLClientCredentials: Sendable {
    /// The login name, as the server expects it (`alice` or `alice@example.org`).
    public var user: String
    /// The password, as UTF-8 bytes.
    public var password: [UInt8]

    /// Creates credentials.
    public init(user: String, password: [UInt8]) {
        self.user = user
        self.password = password
    }

    /// Creates credentials from a password string.
    public init(user: String, password: String) {
        self.init(user: user, password: Array(password.utf8))
    }
}
