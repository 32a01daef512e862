import SASLDB

/// The text columns of one row's key: sasldb keys are bytes, the table's are text, so a part that is not UTF-8 has no
/// row (and cannot be written).
struct PostgresRowKey: Hashable, Sendable {
    var username: String
    var realm: String
    var property: String

    /// The user's columns, with an empty property; `nil` when a part is not UTF-8.
    init?(user: UserID) {
        guard let username = String(validating: user.authid, as: UTF8.self),
            let realm = String(validating: user.realm, as: UTF8.self)
        else { return nil }
        self.username = username
        self.realm = realm
        property = ""
    }

    /// The columns of `key`.
    ///
    /// - Throws: ``SASLDBError/invalidName(_:)`` for a part that is not UTF-8.
    init(_ key: RecordKey) throws {
        guard var row = PostgresRowKey(user: key.user) else {
            throw SASLDBError.invalidName("\(key.user) is not UTF-8 text, which a PostgreSQL store needs")
        }
        row.property = try Self.text(key.property)
        self = row
    }

    /// A property name as text.
    static func text(_ property: [UInt8]) throws -> String {
        guard let text = String(validating: property, as: UTF8.self) else {
            throw SASLDBError.invalidValue("a property name is not UTF-8 text, which a PostgreSQL store needs")
        }
        return text
    }
}
