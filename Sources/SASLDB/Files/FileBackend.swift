#if canImport(Glibc)
import Glibc
#endif

/// Settings of a file-backed store.
public struct FileBackendOptions: Sendable {
    /// The format of a file this backend creates; an existing file keeps its own format.
    public var newFileFormat: DatabaseFormat = .gdbm
    /// The group of a file this backend creates; `nil` leaves the creator's group and mode 0600.
    public var newFileGroup: gid_t?
    /// Whether a created file with a group is 0660 (Debian's `root:sasl`) instead of 0640.
    public var newFileGroupWritable = false
    /// How long a writer waits for another writer before failing with "database busy".
    public var lockTimeoutMilliseconds = 10_000
    /// How long a reader retries while a Cyrus GDBM writer holds the file (gdbm's locks never wait).
    public var readRetryMilliseconds = 2_000

    /// The defaults: GDBM, 0600, 10 s writer timeout.
    public init() {}
}

/// A sasldb file in GDBM or Berkeley DB format, written atomically.
///
/// Readers open the file for one lookup and close it, as Cyrus does, holding no lock between lookups; what a lookup
/// found is served again while the file is provably unchanged (``FileReadCache``). A write copies the file into a private directory
/// beside it, applies the batch to the copy, syncs it and renames it over the original (Postfix's `postmap` pattern):
/// readers and a crash see the old or the new file, never a mix, and whoever else may write the directory cannot
/// redirect the write (see `TemporaryFile`). Writers of ours wait for each other; a Cyrus writer that races us either
/// fails at once (GDBM, which we hold read-locked while copying) or is detected by a changed file and the copy redone
/// (Berkeley DB, which Cyrus uses without locks).
public final class FileBackend: CredentialBackend {
    /// The database file's path.
    public let path: String
    /// The settings.
    public let options: FileBackendOptions

    /// Called once the private copy exists, before the library opens it: lets a test act as another user of the
    /// database's directory at the moment a swap would have redirected the write.
    private let beforeApplyingToCopy: (@Sendable () -> Void)?
    /// What lookups read, while the file is unchanged.
    let cache: FileReadCache

    /// Creates a backend for `path`; nothing is opened until the first call.
    public init(path: String, options: FileBackendOptions = FileBackendOptions()) {
        self.path = path
        self.options = options
        beforeApplyingToCopy = nil
        cache = FileReadCache()
    }

    /// A backend keeping its lookups in `cache` (tests give one with their own clock).
    init(path: String, options: FileBackendOptions, cache: FileReadCache) {
        self.path = path
        self.options = options
        beforeApplyingToCopy = nil
        self.cache = cache
    }

    /// A backend whose writes call `beforeApplyingToCopy` between making the copy and applying the batch to it.
    init(path: String, options: FileBackendOptions, beforeApplyingToCopy: @escaping @Sendable () -> Void) {
        self.path = path
        self.options = options
        self.beforeApplyingToCopy = beforeApplyingToCopy
        cache = FileReadCache()
    }

    /// The format of the existing file, or `nil` when it does not exist or is empty.
    ///
    /// - Throws: ``SASLDBError/notADatabase(path:looksLike:)`` for a foreign file, and the safety errors.
    public func existingFormat() throws -> DatabaseFormat? {
        guard try FileSafety.inspect(path) != nil else { return nil }
        return try detectedFormat()
    }

    /// The values of `properties` for `user`: from ``FileReadCache`` while the file is unchanged (one `lstat`), else
    /// read under one short open.
    public func fetch(_ user: UserID, properties: [Property]) throws -> [Property: [UInt8]] {
        let readAt = cache.now()
        guard let status = try FileSafety.inspect(path) else {
            cache.removeAll()
            return [:]
        }
        if let values = cache.values(user: user, properties: properties, status: status) { return values }
        let values = try withReader { try $0.fetch(user, properties: properties) } ?? [:]
        cache.store(values, user: user, properties: properties, status: status, readAt: readAt)
        return values
    }

    /// What ``FileReadCache`` holds for the lookup, when one `lstat` shows the file unchanged since it was read.
    public func fetchFromMemory(_ user: UserID, properties: [Property]) -> [Property: [UInt8]]? {
        guard let status = try? FileSafety.inspect(path) else { return nil }
        return cache.values(user: user, properties: properties, status: status)
    }

    public func records() throws -> [Record] {
        guard try FileSafety.inspect(path) != nil else { throw SASLDBError.fileNotFound(path: path) }
        return try withReader { try $0.allRecords() } ?? []
    }

    /// Every key of the file, without values, read under one short lookup (the lock, if any, is released before the
    /// caller formats anything).
    ///
    /// - Throws: ``SASLDBError/fileNotFound(path:)`` for a missing file, and the other read errors.
    public func recordKeys() throws -> RecordKeyList {
        guard try FileSafety.inspect(path) != nil else { throw SASLDBError.fileNotFound(path: path) }
        return try withReader { file in
            var keys = RecordKeyList()
            try file.forEachKey { keys.append($0) }
            return keys
        } ?? RecordKeyList()
    }

    public func apply(_ batch: WriteBatch) throws {
        let started = MonotonicClock.milliseconds()
        let deadline = started + options.lockTimeoutMilliseconds
        try FileSafety.checkDirectory(of: path)
        // A bounded number of restarts: each happens only when another process replaced or changed the file under us.
        for _ in 0..<64 {
            let done: Bool
            if try FileSafety.inspect(path) != nil {
                done = try replaceExisting(with: batch, startedAt: started, deadline: deadline)
            } else {
                done = try createNew(with: batch)
            }
            if done { return }
            if MonotonicClock.milliseconds() >= deadline {
                throw SASLDBError.busy(path: path, waitedMilliseconds: MonotonicClock.milliseconds() - started)
            }
        }
        throw SASLDBError.busy(path: path, waitedMilliseconds: MonotonicClock.milliseconds() - started)
    }

    // MARK: Reading

    /// Opens the file for one read, retrying briefly while a GDBM writer holds it; `nil` for a missing or empty file
    /// (a missing file holds no user, as Cyrus's Berkeley DB backend answers).
    private func withReader<T>(_ body: (any DatabaseFile) throws -> T) throws -> T? {
        guard try FileSafety.inspect(path) != nil, let format = try detectedFormat() else { return nil }
        let started = MonotonicClock.milliseconds()
        var pause = 200
        while true {
            do {
                let file = try openDatabaseFile(format: format, path: path, mode: .read, lock: true)
                defer { file.close() }
                return try body(file)
            } catch SASLDBError.busy {
                let waited = MonotonicClock.milliseconds() - started
                if waited >= options.readRetryMilliseconds {
                    throw SASLDBError.busy(path: path, waitedMilliseconds: waited)
                }
                MonotonicClock.sleep(microseconds: pause)
                pause = min(pause * 2, 20_000)
            }
        }
    }

    private func detectedFormat() throws -> DatabaseFormat? {
        switch try detectDatabaseFormat(path: path) {
        case .sasldb(let format): return format
        case .empty: return nil
        case .foreign(let looksLike): throw SASLDBError.notADatabase(path: path, looksLike: looksLike)
        }
    }

    // MARK: Writing

    /// Replaces the existing file; `false` when it changed under us and the caller should start again.
    private func replaceExisting(with batch: WriteBatch, startedAt: Int, deadline: Int) throws -> Bool {
        let fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT { return false }
            if code == EACCES || code == EPERM { throw SASLDBError.permissionDenied(path: path, operation: "write") }
            if code == ELOOP { _ = try FileSafety.inspect(path) }
            throw SASLDBError.io(path: path, operation: "open", errno: code)
        }
        defer { Glibc.close(fd) }
        let original = try status(of: fd)
        try FileSafety.check(original, path: path)
        try WriterLock.acquire(fd: fd, path: path, exclusive: true, startedAt: startedAt, deadline: deadline)
        guard try isCurrent(fd) else { return false }
        try refuseExtraLinks(original)
        let format = try detectedFormat()
        if format == .gdbm {
            try WriterLock.holdGDBMReaderLock(fd: fd, path: path, startedAt: startedAt, deadline: deadline)
        }
        let snapshot = try status(of: fd)
        let temporary = try TemporaryFile(beside: path, removingStale: true)
        defer { temporary.discard() }
        if let format {
            try temporary.create(copying: fd)
            beforeApplyingToCopy?()
            try applyToCopy(batch, format: format, temporaryPath: temporary.path, create: false)
        } else {
            try temporary.create(copying: nil)
            beforeApplyingToCopy?()
            try applyToCopy(
                batch.creatingFile,
                format: options.newFileFormat,
                temporaryPath: temporary.path,
                create: true
            )
        }
        try temporary.finish(owner: snapshot.st_uid, group: snapshot.st_gid, mode: snapshot.st_mode & 0o7777)
        // Berkeley DB writers of Cyrus take no lock: a change since the copy means redoing it rather than losing it.
        let now = try status(of: fd)
        guard now.st_size == snapshot.st_size, sameTime(now.st_mtim, snapshot.st_mtim),
            sameTime(now.st_ctim, snapshot.st_ctim),
            try isCurrent(fd)
        else { return false }
        try temporary.publishReplacing()
        return true
    }

    /// Creates the file from nothing; `false` when another process created it first.
    private func createNew(with batch: WriteBatch) throws -> Bool {
        let temporary = try TemporaryFile(beside: path, removingStale: false)
        defer { temporary.discard() }
        try temporary.create(copying: nil)
        beforeApplyingToCopy?()
        try applyToCopy(batch.creatingFile, format: options.newFileFormat, temporaryPath: temporary.path, create: true)
        let mode: mode_t
        if options.newFileGroup == nil {
            mode = 0o600
        } else {
            mode = options.newFileGroupWritable ? 0o660 : 0o640
        }
        try temporary.finish(owner: geteuid(), group: options.newFileGroup ?? getegid(), mode: mode)
        return try temporary.publishIfAbsent()
    }

    /// Applies `batch` to the private copy; errors name the real file, not the copy.
    private func applyToCopy(_ batch: WriteBatch, format: DatabaseFormat, temporaryPath: String, create: Bool) throws {
        do {
            try applyToCopyNamingIt(batch, format: format, temporaryPath: temporaryPath, create: create)
        } catch let error as SASLDBError {
            throw error.replacingPath(temporaryPath, with: path)
        }
    }

    private func applyToCopyNamingIt(
        _ batch: WriteBatch,
        format: DatabaseFormat,
        temporaryPath: String,
        create: Bool
    ) throws {
        let file = try openDatabaseFile(
            format: format,
            path: temporaryPath,
            mode: create ? .create(permissions: 0o600) : .write,
            lock: false,
            bulkWrite: batch.operations.count > 1000
        )
        var closed = false
        defer { if !closed { file.close() } }
        try file.apply(batch)
        closed = true
        try file.closeAfterWriting()
    }

    private func status(of fd: Int32) throws -> stat {
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw SASLDBError.io(path: path, operation: "stat", errno: errno) }
        return status
    }

    /// Whether `fd` is still the file at the path (another writer may have renamed a new one in).
    private func isCurrent(_ fd: Int32) throws -> Bool {
        let held = try status(of: fd)
        var atPath = stat()
        guard lstat(path, &atPath) == 0 else { return false }
        return held.st_dev == atPath.st_dev && held.st_ino == atPath.st_ino
    }

    /// A rename would silently cut a hard link (Postfix setups link the file into smtpd's chroot), leaving the other
    /// name with stale passwords; refuse and say how to do it instead.
    private func refuseExtraLinks(_ status: stat) throws {
        guard status.st_nlink <= 1 else {
            throw SASLDBError.insecureFile(
                path: path,
                reason: "it has \(status.st_nlink) hard links, which an atomic replace would cut",
                fix: "remove the other links; to share it with a chroot, bind-mount the directory holding it "
                    + "(see sasldb(8), HARD LINKS)"
            )
        }
    }
}

private func sameTime(_ lhs: timespec, _ rhs: timespec) -> Bool {
    lhs.tv_sec == rhs.tv_sec && lhs.tv_nsec == rhs.tv_nsec
}
