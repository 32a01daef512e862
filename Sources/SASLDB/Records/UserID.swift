/// A sasldb user: the pair (authid, realm) that prefixes every record key.
public struct UserID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The user part, byte-exact.
    public var authid: [UInt8]
    /// The realm, byte-exact.
    public var realm: [UInt8]

    /// Creates a user from its raw parts.
    public init(authid: [UInt8], realm: [UInt8]) {
        self.authid = authid
        self.realm = realm
    }

    /// Maps a login name to (authid, realm) the way Cyrus does.
    ///
    /// A name with an `@` is split at the first `@` (the rest, which may contain more `@`, is the realm and wins over
    /// `defaultRealm`); a name without one takes `defaultRealm`.
    ///
    /// - Throws: ``SASLDBError/invalidName(_:)`` for an empty name or one containing NUL, which no key can hold.
    public init(parsing name: String, defaultRealm: String) throws {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty else { throw SASLDBError.invalidName("the name is empty") }
        guard !bytes.contains(0) else { throw SASLDBError.invalidName("the name contains a NUL byte") }
        if let at = bytes.firstIndex(of: UInt8(ascii: "@")) {
            self.init(authid: Array(bytes[..<at]), realm: Array(bytes[(at + 1)...]))
        } else {
            let realm = Array(defaultRealm.utf8)
            guard !realm.contains(0) else { throw SASLDBError.invalidName("the realm contains a NUL byte") }
            self.init(authid: bytes, realm: realm)
        }
        try validate()
    }

    /// Checks the limits a record key imposes: no NUL, and parts short enough for Cyrus's buffers.
    public func validate() throws {
        guard !authid.isEmpty else { throw SASLDBError.invalidName("the user part before the @ is empty") }
        guard !authid.contains(0), !realm.contains(0) else {
            throw SASLDBError.invalidName("the name contains a NUL byte")
        }
        guard authid.count <= UserID.maximumPartLength, realm.count <= UserID.maximumPartLength else {
            throw SASLDBError.invalidName("the user or realm is longer than \(UserID.maximumPartLength) bytes")
        }
    }

    /// The longest user or realm part accepted; Cyrus's listing buffer holds parts below 16384 bytes, and no mail
    /// client sends names anywhere near this.
    public static let maximumPartLength = 255

    /// `authid@realm`, as sasldblistusers2 prints it.
    public var description: String {
        String(decoding: authid, as: UTF8.self) + "@" + String(decoding: realm, as: UTF8.self)
    }

    public static func < (lhs: UserID, rhs: UserID) -> Bool {
        if lhs.realm != rhs.realm { return lhs.realm.precedesBytewise(rhs.realm) }
        return lhs.authid.precedesBytewise(rhs.authid)
    }

    public func hash(into hasher: inout Hasher) {
        authid.hashBytes(into: &hasher)
        realm.hashBytes(into: &hasher)
    }
}
