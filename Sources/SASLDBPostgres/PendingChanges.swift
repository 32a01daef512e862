import SASLDB

/// The puts and deletes of a batch between two whole-user operations, collapsed to the last change of each key and
/// kept by user in the order users first appear.
///
/// Kept by user rather than by key: a batch names each user's keys one after another (an import writes nine changes
/// per user), so a change of the same user as the one before needs no hashing, and a user's few properties are found
/// by a short scan. The plan then writes each user's deletes as one row of a statement, not one row per key.
struct PendingChanges {
    /// One user's changes: each property once, with its last value, `nil` for a delete.
    struct UserChanges {
        let user: UserID
        var changes: [(property: [UInt8], value: [UInt8]?)] = []
    }

    private(set) var users: [UserChanges] = []
    private var slots: [UserID: Int] = [:]
    private var last: Int?

    /// Whether no change is pending.
    var isEmpty: Bool { users.isEmpty }

    /// Records that `key` becomes `value` (`nil`: is deleted), replacing an earlier change of the same key.
    mutating func set(_ key: RecordKey, _ value: [UInt8]?) {
        let slot = self.slot(of: key)
        if let index = users[slot].changes.firstIndex(where: { $0.property == key.property }) {
            users[slot].changes[index].value = value
        } else {
            users[slot].changes.append((key.property, value))
        }
    }

    /// Forgets every change.
    mutating func removeAll() {
        users.removeAll(keepingCapacity: true)
        slots.removeAll(keepingCapacity: true)
        last = nil
    }

    private mutating func slot(of key: RecordKey) -> Int {
        // Arrays that share storage compare equal without reading their bytes: consecutive keys of one user usually do.
        if let last, users[last].user.authid == key.authid, users[last].user.realm == key.realm { return last }
        let user = key.user
        let slot: Int
        if let found = slots[user] {
            slot = found
        } else {
            slot = users.count
            users.append(UserChanges(user: user))
            slots[user] = slot
        }
        last = slot
        return slot
    }
}
