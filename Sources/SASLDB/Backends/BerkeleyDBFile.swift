import CBerkeleyDB
import CBerkeleyDBShims

#if canImport(Glibc)
import Glibc
#endif

/// A sasldb file in Berkeley DB 5.3 hash format, opened exactly as Debian's Cyrus `db_berkeley.c` opens it.
///
/// Cyrus calls `db_create(&db, NULL, 0)` and `db->open(db, NULL, path, NULL, DB_HASH, flags, 0660)` with `DB_RDONLY`
/// for reading and `DB_CREATE` for writing, with no environment: no locking, no transactions, no log. This type does
/// the same, so the files stay byte-compatible and `sasldblistusers2`/`db5.3_dump` read them. Berkeley DB has no lock
/// of its own here, so callers that need mutual exclusion must lock around it.
///
/// libdb's own error messages (normally printed on stderr) are captured and become the detail of the thrown error.
final class BerkeleyDBFile: DatabaseFile {
    /// Settings that only change speed, never what a reader sees in the file.
    struct Tuning: Equatable, Sendable {
        /// Bytes of page cache (`DB->set_cachesize`); `nil` keeps libdb's default (256 KiB without an environment).
        var cacheBytes: Int?

        /// libdb's defaults, as Cyrus gets them.
        static let standard = Tuning(cacheBytes: nil)

        /// The settings measured fastest for writing many records into a private copy of the file: 300,000 records
        /// went in at about 850,000/s against about 305,000/s with the default cache (2 cores, libdb 5.3). The
        /// memory is only reserved, and used as the file grows.
        static let bulkWrite = Tuning(cacheBytes: 64 << 20)
    }

    /// The path the file was opened from, for error messages.
    let path: String
    /// The open handle; `nil` once `close()` has run, so a second close or a late call cannot touch freed memory.
    private var handle: UnsafeMutablePointer<DB>?
    /// Where libdb's error callback puts its messages; referenced (unretained) from the handle's environment.
    private let messages: BerkeleyMessageLog

    private init(path: String, handle: UnsafeMutablePointer<DB>, messages: BerkeleyMessageLog) {
        self.path = path
        self.handle = handle
        self.messages = messages
    }

    deinit {
        // A handle dropped on an error path must still be released (and its dirty pages written); callers normally
        // close first.
        if let handle, let close = handle.pointee.close {
            _ = close(handle, 0)
        }
    }

    /// Opens `path` as a Berkeley DB hash database.
    ///
    /// - Parameters:
    ///   - mode: `.read` uses `DB_RDONLY`; `.write` uses no flag, so the file must exist; `.create` uses `DB_CREATE`
    ///     with the given permissions (before umask). Cyrus itself always passes mode 0660.
    ///   - tuning: cache settings; they affect speed only.
    /// - Throws: `fileNotFound`, `permissionDenied`, `notADatabase` (not a Berkeley DB hash file), `corrupt`, `io` or
    ///   `backend`, with libdb's message as detail where it gave one.
    static func open(path: String, mode: DatabaseOpenMode, tuning: Tuning = .standard) throws -> BerkeleyDBFile {
        var flags: UInt32 = 0
        var permissions: mode_t = 0o660
        let operation: String
        switch mode {
        case .read:
            flags = UInt32(DB_RDONLY)
            operation = "read"
        case .write:
            operation = "write"
        case .create(let requested):
            flags = UInt32(DB_CREATE)
            permissions = requested
            operation = "write"
        }

        var created: UnsafeMutablePointer<DB>?
        let createStatus = db_create(&created, nil, 0)
        guard createStatus == 0, let db = created else {
            throw translateBerkeleyError(createStatus, path: path, operation: operation, detail: nil, duringOpen: false)
        }
        let messages = BerkeleyMessageLog()
        // From here on the object owns the handle, so every failure below releases it through deinit.
        let file = BerkeleyDBFile(path: path, handle: db, messages: messages)
        try file.captureMessages(of: db)

        if let bytes = tuning.cacheBytes {
            guard let setCacheSize = db.pointee.set_cachesize else { throw file.missingMethod("set_cachesize") }
            let gigabytes = UInt32(bytes >> 30)
            let remainder = UInt32(bytes & ((1 << 30) - 1))
            let status = setCacheSize(db, gigabytes, remainder, 1)
            if status != 0 {
                throw file.error(status, operation: "configure")
            }
        }

        guard let openMethod = db.pointee.open else { throw file.missingMethod("open") }
        let status = openMethod(db, nil, path, nil, DB_HASH, flags, Int32(permissions))
        if status != 0 {
            let detail = messages.take()
            // libdb requires a handle whose open failed to be closed, and it must not be used for anything else.
            file.close()
            throw translateBerkeleyError(status, path: path, operation: operation, detail: detail, duringOpen: true)
        }
        return file
    }

    /// The value under `key` (`DB->get`, flags 0); `nil` on `DB_NOTFOUND`, an error on anything else.
    func fetch(_ key: [UInt8]) throws -> [UInt8]? {
        let db = try openHandle()
        guard let get = db.pointee.get else { throw missingMethod("get") }
        messages.reset()
        var value = DBT()
        // DB_DBT_MALLOC hands us our own copy, which stays valid whatever the handle does next; we free it below.
        value.flags = UInt32(DB_DBT_MALLOC)
        let status = try withDBT(key) { keyDBT in get(db, nil, &keyDBT, &value, 0) }
        if status == DB_NOTFOUND || status == DB_KEYEMPTY {
            return nil
        }
        guard status == 0 else {
            throw error(status, operation: "read")
        }
        return takeDBT(value)
    }

    /// `DB->put` with flags 0, as Cyrus does, so a put overwrites.
    func store(_ key: [UInt8], _ value: [UInt8]) throws {
        let db = try openHandle()
        guard let put = db.pointee.put else { throw missingMethod("put") }
        messages.reset()
        // Flags 0 as in Cyrus: the database has no duplicates, so a put replaces any previous value.
        let status = try withDBT(key) { keyDBT in
            try withDBT(value) { valueDBT in put(db, nil, &keyDBT, &valueDBT, 0) }
        }
        guard status == 0 else {
            throw error(status, operation: "write")
        }
    }

    /// `DB->del` with flags 0; `false` on `DB_NOTFOUND` (Cyrus treats that as success too).
    @discardableResult
    func delete(_ key: [UInt8]) throws -> Bool {
        let db = try openHandle()
        guard let del = db.pointee.del else { throw missingMethod("del") }
        messages.reset()
        let status = try withDBT(key) { keyDBT in del(db, nil, &keyDBT, 0) }
        if status == DB_NOTFOUND || status == DB_KEYEMPTY {
            return false
        }
        guard status == 0 else {
            throw error(status, operation: "write")
        }
        return true
    }

    /// Walks the file with a cursor (`DB_NEXT` from an unpositioned cursor starts at the first record), in hash
    /// order like Cyrus's listing; `body` must not modify the file.
    func forEachRecord(_ body: (_ key: [UInt8], _ value: [UInt8]) throws -> Void) throws {
        try walk { key, value in try body(copyBytes(key), copyBytes(value)) }
    }

    func forEachKey(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let db = try openHandle()
        messages.reset()
        try withoutActuallyEscaping(body) { escapable in
            let walk = KeyWalk(body: escapable)
            let status = sasldb_bdb_walk_keys(db, keyWalkCallback, Unmanaged.passUnretained(walk).toOpaque())
            if let failure = walk.failure { throw failure }
            guard status == 0 else { throw error(status, operation: "read") }
        }
    }

    /// Walks the file with a cursor, one record at a time.
    private func walk(_ body: (DBT, DBT) throws -> Void) throws {
        let db = try openHandle()
        guard let makeCursor = db.pointee.cursor else { throw missingMethod("cursor") }
        messages.reset()
        var opened: UnsafeMutablePointer<DBC>?
        let status = makeCursor(db, nil, &opened, 0)
        guard status == 0, let cursor = opened else {
            throw error(status, operation: "read")
        }
        defer {
            if let close = cursor.pointee.close {
                _ = close(cursor)
            }
        }
        guard let next = cursor.pointee.get else { throw missingMethod("cursor get") }

        // DB_DBT_REALLOC lets libdb grow one buffer per DBT across the whole walk; we free both at the end.
        var key = DBT()
        var value = DBT()
        key.flags = UInt32(DB_DBT_REALLOC)
        value.flags = UInt32(DB_DBT_REALLOC)
        defer {
            free(key.data)
            free(value.data)
        }
        while true {
            let status = next(cursor, &key, &value, UInt32(DB_NEXT))
            if status == DB_NOTFOUND {
                return
            }
            guard status == 0 else {
                throw error(status, operation: "read")
            }
            try body(key, value)
        }
    }

    /// Writes libdb's dirty pages to the file (`DB->sync`, which libdb follows with its own fdatasync), reporting
    /// errors that `close` cannot. `FileBackend` fsyncs the finished file once more before publishing it.
    func sync() throws {
        let db = try openHandle()
        guard let syncMethod = db.pointee.sync else { throw missingMethod("sync") }
        messages.reset()
        let status = syncMethod(db, 0)
        guard status == 0 else {
            throw error(status, operation: "sync")
        }
    }

    /// `DB->close`, which also writes dirty pages. It cannot report errors, so writers call `sync()` first.
    func close() {
        guard let db = handle else { return }
        handle = nil
        if let close = db.pointee.close {
            _ = close(db, 0)
        }
    }

    func closeAfterWriting() throws {
        guard let db = handle else { return }
        handle = nil
        messages.reset()
        guard let close = db.pointee.close else { throw missingMethod("close") }
        let status = close(db, 0)
        guard status == 0 else { throw error(status, operation: "write") }
    }

    /// The live handle, or an error when the file was already closed (calling after close is a programming error,
    /// but an error is kinder than a use-after-free).
    private func openHandle() throws -> UnsafeMutablePointer<DB> {
        guard let handle else {
            throw SASLDBError.backend(path: path, detail: "the Berkeley DB handle was used after it was closed")
        }
        return handle
    }

    /// Routes libdb's error messages for this handle into `messages` instead of stderr.
    ///
    /// The C callback cannot capture Swift state, so it finds the log through `app_private` of the private
    /// environment that `db_create` made for this handle.
    private func captureMessages(of db: UnsafeMutablePointer<DB>) throws {
        guard let environment = db.pointee.dbenv, let setErrorCall = db.pointee.set_errcall else {
            throw missingMethod("set_errcall")
        }
        environment.pointee.app_private = Unmanaged.passUnretained(messages).toOpaque()
        setErrorCall(db) { environment, _, message in
            guard let environment, let message, let log = environment.pointee.app_private else { return }
            Unmanaged<BerkeleyMessageLog>.fromOpaque(log).takeUnretainedValue().append(String(cString: message))
        }
    }

    private func error(_ status: Int32, operation: String) -> SASLDBError {
        translateBerkeleyError(status, path: path, operation: operation, detail: messages.take(), duringOpen: false)
    }

    private func missingMethod(_ name: String) -> SASLDBError {
        .backend(path: path, detail: "the Berkeley DB library has no \(name) method")
    }
}

/// The messages libdb reported through the error callback since the last reset, at most a few of them.
private final class BerkeleyMessageLog {
    private var lines: [String] = []

    /// Records one message from libdb's error callback.
    func append(_ line: String) {
        // A damaged file can make libdb report page after page; the first few say what happened.
        if lines.count < 4 {
            lines.append(line)
        }
    }

    /// Forgets messages from earlier calls, so an error carries only its own.
    func reset() {
        lines.removeAll()
    }

    /// The collected messages joined into one detail, or `nil` when libdb said nothing; clears the log.
    func take() -> String? {
        defer { lines.removeAll() }
        return lines.isEmpty ? nil : lines.joined(separator: "; ")
    }
}

/// Calls `body` with a DBT that points at `bytes` for the duration of the call.
///
/// libdb only reads a key or value passed in without memory flags; an empty array is passed as a pointer to a dummy
/// byte with size 0, because an empty Swift array may have no storage at all.
private func withDBT<Result>(_ bytes: [UInt8], _ body: (inout DBT) throws -> Result) throws -> Result {
    guard bytes.count <= Int(UInt32.max) else {
        throw SASLDBError.invalidValue("a key or value of \(bytes.count) bytes is larger than Berkeley DB can store")
    }
    return try bytes.withUnsafeBytes { buffer in
        var dbt = DBT()
        guard let base = buffer.baseAddress, !buffer.isEmpty else {
            var dummy: UInt8 = 0
            return try withUnsafeMutablePointer(to: &dummy) { pointer in
                dbt.data = UnsafeMutableRawPointer(pointer)
                return try body(&dbt)
            }
        }
        dbt.data = UnsafeMutableRawPointer(mutating: base)
        dbt.size = UInt32(buffer.count)
        return try body(&dbt)
    }
}

/// The bytes a DBT currently points at.
private func copyBytes(_ dbt: DBT) -> [UInt8] {
    guard let data = dbt.data, dbt.size > 0 else { return [] }
    return Array(UnsafeRawBufferPointer(start: data, count: Int(dbt.size)))
}

/// Copies a DBT that libdb filled with DB_DBT_MALLOC and frees its buffer.
private func takeDBT(_ dbt: DBT) -> [UInt8] {
    let bytes = copyBytes(dbt)
    free(dbt.data)
    return bytes
}

/// Turns a libdb return code into the error an administrator can act on.
///
/// `detail` is what libdb printed through the error callback, if anything. During open, libdb answers EINVAL both for
/// a file of another format ("unexpected file type or format") and for a damaged hash file, so the file's first bytes
/// decide between `notADatabase` and `corrupt`.
private func translateBerkeleyError(
    _ status: Int32,
    path: String,
    operation: String,
    detail: String?,
    duringOpen: Bool
) -> SASLDBError {
    let message = detail ?? "Berkeley DB: \(berkeleyMessage(status))"
    switch status {
    case ENOENT:
        return .fileNotFound(path: path)
    case EACCES, EPERM:
        return .permissionDenied(path: path, operation: operation)
    case EINVAL where duringOpen:
        let detected = try? detectDatabaseFormat(path: path)
        if detected == .sasldb(.berkeleyDB) {
            return .corrupt(path: path, detail: message)
        }
        return .notADatabase(path: path, looksLike: detected?.description ?? "a file Berkeley DB does not recognise")
    case DB_OLD_VERSION:
        return .notADatabase(path: path, looksLike: "a database made by an older Berkeley DB (see db5.3_upgrade)")
    case DB_RUNRECOVERY, DB_VERIFY_BAD, DB_PAGE_NOTFOUND, DB_SECONDARY_BAD:
        return .corrupt(path: path, detail: message)
    case 1...:
        // Positive codes are errno values from the system calls libdb made.
        return .io(path: path, operation: operation, errno: status)
    default:
        return .backend(path: path, detail: message)
    }
}

/// libdb's own text for a return code.
private func berkeleyMessage(_ status: Int32) -> String {
    guard let text = db_strerror(status) else { return "error \(status)" }
    return String(cString: text)
}

/// The Swift side of a bulk key walk: the caller's closure and the error it threw, if any.
private final class KeyWalk {
    let body: (UnsafeRawBufferPointer) throws -> Void
    var failure: (any Error)?

    init(body: @escaping (UnsafeRawBufferPointer) throws -> Void) { self.body = body }
}

private let keyWalkCallback: sasldb_bdb_key_callback = { key, length, context in
    guard let context else { return 1 }
    let walk = Unmanaged<KeyWalk>.fromOpaque(context).takeUnretainedValue()
    do {
        try walk.body(UnsafeRawBufferPointer(start: key, count: Int(length)))
        return 0
    } catch {
        walk.failure = error
        return 1
    }
}
