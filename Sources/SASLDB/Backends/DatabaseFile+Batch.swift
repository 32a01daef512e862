extension DatabaseFile {
    /// Applies the operations of `batch` in order to this (private, not yet visible) file.
    func apply(_ batch: WriteBatch) throws {
        for operation in batch.operations {
            switch operation {
            case .put(let key, let value):
                try store(key.bytes, value)
            case .delete(let key):
                try delete(key.bytes)
            case .deleteUser(let user):
                for key in try keys(of: user) { try delete(key) }
            case .moveProperty(let user, let from, let to):
                let source = RecordKey(user: user, property: from).bytes
                if let value = try fetch(source) {
                    try store(RecordKey(user: user, property: to).bytes, value)
                    try delete(source)
                }
            }
        }
    }

    /// The raw keys of every record of `user`; a full scan, since hash files have no prefix search.
    func keys(of user: UserID) throws -> [[UInt8]] {
        let prefix = user.authid + [0] + user.realm + [0]
        var keys: [[UInt8]] = []
        try forEachRecord { key, _ in
            if key.count > prefix.count, key.starts(with: prefix), !key[prefix.count...].contains(0) {
                keys.append(key)
            }
        }
        return keys
    }

    /// Reads the values of `properties` for `user`.
    func fetch(_ user: UserID, properties: [Property]) throws -> [Property: [UInt8]] {
        var found: [Property: [UInt8]] = [:]
        for property in properties {
            if let value = try fetch(RecordKey(user: user, property: property).bytes) { found[property] = value }
        }
        return found
    }

    /// Every record, checking that each key has the sasldb shape.
    func allRecords() throws -> [Record] {
        var records: [Record] = []
        try forEachRecord { key, value in
            guard let parsed = RecordKey(bytes: key) else {
                throw SASLDBError.malformedKey(path: path, keyLength: key.count)
            }
            records.append(Record(key: parsed, value: value))
        }
        return records
    }
}
