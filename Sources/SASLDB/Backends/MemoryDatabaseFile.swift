/// A `DatabaseFile` held in a dictionary: the in-memory backend's working copy.
final class MemoryDatabaseFile: DatabaseFile {
    let path = "(memory)"
    private(set) var table: [[UInt8]: [UInt8]]

    init(table: [[UInt8]: [UInt8]] = [:]) { self.table = table }

    func fetch(_ key: [UInt8]) throws -> [UInt8]? { table[key] }

    func store(_ key: [UInt8], _ value: [UInt8]) throws { table[key] = value }

    @discardableResult
    func delete(_ key: [UInt8]) throws -> Bool { table.removeValue(forKey: key) != nil }

    /// Iterates in key order, so listings of the in-memory store are stable.
    func forEachRecord(_ body: ([UInt8], [UInt8]) throws -> Void) throws {
        for key in table.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            if let value = table[key] { try body(key, value) }
        }
    }

    func forEachKey(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        try forEachRecord { key, _ in try key.withUnsafeBytes(body) }
    }

    func sync() throws {}

    func close() {}

    func closeAfterWriting() throws {}
}
