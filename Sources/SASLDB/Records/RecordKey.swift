/// The key of one sasldb record: `authid` 0x00 `realm` 0x00 `property`, with no terminator.
public struct RecordKey: Hashable, Sendable {
    /// The user part, matched byte for byte (Cyrus folds no case).
    public var authid: [UInt8]
    /// The realm, matched byte for byte.
    public var realm: [UInt8]
    /// The property name, for example `userPassword`.
    public var property: [UInt8]

    /// Creates a key from its three parts.
    public init(authid: [UInt8], realm: [UInt8], property: [UInt8]) {
        self.authid = authid
        self.realm = realm
        self.property = property
    }

    /// Creates the key of `property` for `user`.
    public init(user: UserID, property: Property) {
        self.init(authid: user.authid, realm: user.realm, property: property.bytes)
    }

    /// Splits raw key bytes; `nil` when they do not contain exactly two NUL bytes (Cyrus's "Bad Key").
    public init?(bytes: some Collection<UInt8>) {
        var parts: [[UInt8]] = [[]]
        parts.reserveCapacity(3)
        for byte in bytes {
            if byte == 0 {
                guard parts.count < 3 else { return nil }
                parts.append([])
            } else {
                parts[parts.count - 1].append(byte)
            }
        }
        guard parts.count == 3 else { return nil }
        self.init(authid: parts[0], realm: parts[1], property: parts[2])
    }

    public func hash(into hasher: inout Hasher) {
        authid.hashBytes(into: &hasher)
        realm.hashBytes(into: &hasher)
        property.hashBytes(into: &hasher)
    }

    /// The bytes as stored in the database.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(authid.count + realm.count + property.count + 2)
        out += authid
        out.append(0)
        out += realm
        out.append(0)
        out += property
        return out
    }

    /// The user this record belongs to.
    public var user: UserID { UserID(authid: authid, realm: realm) }
}
