import NIOCore

/// Rows to insert or replace, as the four columns an `unnest` upsert takes.
struct PostgresUpsertRows: Sendable {
    private(set) var usernames: [String] = []
    private(set) var realms: [String] = []
    private(set) var properties: [String] = []
    private(set) var values: [ByteBuffer] = []

    /// The number of rows.
    var count: Int { values.count }

    /// Appends the row of `property` for the user `row` names.
    mutating func append(_ row: PostgresRowKey, property: String, value: [UInt8]) {
        usernames.append(row.username)
        realms.append(row.realm)
        properties.append(property)
        values.append(ByteBuffer(bytes: value))
    }

    /// The rows in runs of at most `size`.
    func chunks(of size: Int) -> [PostgresUpsertRows] {
        guard count > size else { return count == 0 ? [] : [self] }
        return stride(from: 0, to: count, by: size).map { start in
            let range = start..<min(count, start + size)
            var chunk = PostgresUpsertRows()
            chunk.usernames = Array(usernames[range])
            chunk.realms = Array(realms[range])
            chunk.properties = Array(properties[range])
            chunk.values = Array(values[range])
            return chunk
        }
    }
}
