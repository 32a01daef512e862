/// Opens `path` with the backend for `format`.
///
/// - Parameters:
///   - lock: whether gdbm takes its usual non-blocking lock; pass `false` only for a private copy that no other
///     process can see. Berkeley DB, as Cyrus uses it (no environment), never locks, so the flag changes nothing there.
///   - bulkWrite: use the cache settings measured fastest for writing many records (an import); they change speed only.
/// - Throws: the backend's `SASLDBError`; see `GDBMFile.open` and `BerkeleyDBFile.open`.
func openDatabaseFile(
    format: DatabaseFormat,
    path: String,
    mode: DatabaseOpenMode,
    lock: Bool,
    bulkWrite: Bool = false
) throws -> any DatabaseFile {
    switch format {
    case .gdbm:
        return try GDBMFile.open(path: path, mode: mode, lock: lock, tuning: bulkWrite ? .bulkWrite : .standard)
    case .berkeleyDB:
        return try BerkeleyDBFile.open(path: path, mode: mode, tuning: bulkWrite ? .bulkWrite : .standard)
    }
}
