#if canImport(Glibc)
import Glibc
#endif

/// The on-disk formats Cyrus SASL builds its sasldb with.
public enum DatabaseFormat: String, Sendable, CaseIterable, CustomStringConvertible {
    /// GNU dbm, as Fedora and RHEL build Cyrus.
    case gdbm
    /// Berkeley DB 5.3 hash, as Debian and Ubuntu build Cyrus.
    case berkeleyDB = "bdb"

    public var description: String {
        switch self {
        case .gdbm: return "GDBM"
        case .berkeleyDB: return "Berkeley DB (hash)"
        }
    }
}

/// How a database file is opened.
enum DatabaseOpenMode: Equatable {
    /// Read only; the file must exist.
    case read
    /// Read and write; the file must exist.
    case write
    /// Read and write, creating the file with `permissions` (before umask) when missing.
    case create(permissions: mode_t)
}

/// One open database file of one format, used for one operation and closed again.
///
/// Conforming types wrap the C library handle; they are not shared between threads. Keys and values are raw bytes.
protocol DatabaseFile: AnyObject {
    /// The path the file was opened from, for error messages.
    var path: String { get }

    /// The value stored under `key`, or `nil` when there is none.
    func fetch(_ key: [UInt8]) throws -> [UInt8]?

    /// Stores `value` under `key`, replacing any previous value.
    func store(_ key: [UInt8], _ value: [UInt8]) throws

    /// Removes `key`; returns whether it existed.
    @discardableResult
    func delete(_ key: [UInt8]) throws -> Bool

    /// Calls `body` with every record, in the library's iteration order.
    func forEachRecord(_ body: (_ key: [UInt8], _ value: [UInt8]) throws -> Void) throws

    /// Calls `body` with every key, without reading values (a listing needs only keys, and gdbm would otherwise
    /// fetch each value separately). The buffer is valid only during the call.
    func forEachKey(_ body: (UnsafeRawBufferPointer) throws -> Void) throws

    /// Flushes everything written to the operating system and to the disk (fsync).
    func sync() throws

    /// Closes the handle; further calls are invalid. Must be called exactly once (or ``closeAfterWriting()``).
    func close()

    /// Closes a handle that wrote, reporting what `close` cannot: the library writes its cache out here (and syncs,
    /// which makes a separate ``sync()`` before it redundant work).
    func closeAfterWriting() throws
}
