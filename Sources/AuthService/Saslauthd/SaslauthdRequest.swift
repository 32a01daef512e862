import SASLDB

/// One saslauthd request: the four strings every client sends and the client's address when it sent one.
///
/// The strings are bytes as they arrived: saslauthd's protocol has no encoding, and the store compares names byte for
/// byte. The password is zeroed by ``erasePassword()`` once it has been checked.
public struct SaslauthdRequest: Sendable, Equatable {
    /// The login name, `user` or `user@realm`.
    public var login: [UInt8]
    /// The password in plaintext.
    public var password: [UInt8]
    /// The service the client authenticates for (`smtp`, `imap`, `ldap`); logged, not used to decide.
    public var service: [UInt8]
    /// The realm the client split off the login (libsasl splits `user@realm` at the last `@`); may be empty.
    public var realm: [UInt8]
    /// The address of the client the peer serves (`rip`), when the peer sent a fifth string.
    public var clientAddress: [UInt8]?

    /// Creates a request.
    ///
    /// - Parameters:
    ///   - login: the login name.
    ///   - password: the plaintext password.
    ///   - service: the service name.
    ///   - realm: the realm, possibly empty.
    ///   - clientAddress: the client's address, when sent.
    public init(login: [UInt8], password: [UInt8], service: [UInt8], realm: [UInt8], clientAddress: [UInt8]? = nil) {
        self.login = login
        self.password = password
        self.service = service
        self.realm = realm
        self.clientAddress = clientAddress
    }

    /// Overwrites the password with zeros, so the plaintext does not linger in memory after the check.
    public mutating func erasePassword() {
        password.overwriteWithZeros()
        password = []
    }
}
