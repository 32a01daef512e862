/// Builds a ``BackendWire`` message.
package struct WireWriter {
    /// The bytes so far.
    package private(set) var data: [UInt8] = []

    package init() {}

    package mutating func byte(_ value: UInt8) { data.append(value) }

    package mutating func count(_ value: Int) {
        withUnsafeBytes(of: UInt32(truncatingIfNeeded: value).bigEndian) { data += $0 }
    }

    package mutating func bytes(_ value: [UInt8]) {
        count(value.count)
        data += value
    }

    package mutating func string(_ value: String) { bytes(Array(value.utf8)) }

    /// A raw key (`authid NUL realm NUL property`) written from its parts, without making the joined bytes first.
    package mutating func key(_ key: RecordKey) {
        count(key.authid.count + key.realm.count + key.property.count + 2)
        data += key.authid
        data.append(0)
        data += key.realm
        data.append(0)
        data += key.property
    }

    package mutating func operation(_ operation: WriteBatch.Operation) {
        switch operation {
        case .put(let key, let value):
            byte(1)
            self.key(key)
            bytes(value)
        case .delete(let key):
            byte(2)
            self.key(key)
        case .deleteUser(let user):
            byte(3)
            bytes(user.authid)
            bytes(user.realm)
        case .moveProperty(let user, let from, let to):
            byte(4)
            bytes(user.authid)
            bytes(user.realm)
            bytes(from.bytes)
            bytes(to.bytes)
        }
    }

    /// What `db init` did: a kind, the version reached and the version migrated from.
    package mutating func schemaInitialization(_ result: SchemaInitialization) {
        switch result {
        case .created(let version): schemaFields(1, version, 0)
        case .migrated(let from, let to): schemaFields(2, to, from)
        case .current(let version): schemaFields(3, version, 0)
        }
    }

    private mutating func schemaFields(_ kind: UInt8, _ version: Int, _ from: Int) {
        byte(kind)
        count(version)
        count(from)
    }

    /// The error as a tag and its fields; a case without a tag of its own travels as ``SASLDBError/backend(path:detail:)``.
    package mutating func error(_ error: SASLDBError) {
        switch error {
        case .unavailable(let store, let detail): fields(1, store, detail)
        case .loginRefused(let store, let user, let detail): fields(2, store, user, detail)
        case .schemaVersion(let store, let found, let supported):
            fields(3, store, found.map { String($0) } ?? "", String(supported))
        case .invalidValue(let reason): fields(4, reason)
        case .invalidName(let reason): fields(5, reason)
        case .invalidPassword(let reason): fields(6, reason)
        case .permissionDenied(let path, let operation): fields(7, path, operation)
        case .backend(let path, let detail): fields(8, path, detail)
        default: fields(8, "backend helper", error.description)
        }
    }

    private mutating func fields(_ tag: UInt8, _ values: String...) {
        byte(tag)
        count(values.count)
        for value in values { string(value) }
    }
}
