#if canImport(Glibc)
import Glibc
#endif

/// What a file appears to be, judged from its first bytes.
///
/// Used to pick the backend for an existing sasldb and to tell an administrator what a file is when it is not one.
enum DetectedFormat: Equatable, Sendable, CustomStringConvertible {
    /// A database that one of our backends can open.
    case sasldb(DatabaseFormat)
    /// A file of zero bytes (as left by `touch`), which either backend may initialise.
    case empty
    /// Anything else, described as a phrase that completes "it looks like …".
    case foreign(String)

    /// A phrase that completes "it looks like …", for `SASLDBError.notADatabase(looksLike:)`.
    var description: String {
        switch self {
        case .sasldb(.gdbm):
            return "a GDBM database"
        case .sasldb(.berkeleyDB):
            return "a Berkeley DB hash database"
        case .empty:
            return "an empty file"
        case .foreign(let what):
            return what
        }
    }
}

/// The verdict on a file together with a one-line summary in the style of file(1), which also names the version and
/// byte order of a recognised database (for example `Berkeley DB (Hash, version 9, native byte-order)`).
struct DatabaseFileSignature: Equatable, Sendable {
    /// What the file is, as far as the backends are concerned.
    var format: DetectedFormat
    /// A short technical summary for verbose output and diagnostics.
    var summary: String
}

/// Reads the first bytes of `path` and says which kind of file it is.
///
/// - Throws: `fileNotFound`, `permissionDenied`, `insecureFile` (a symbolic link, which is never followed) or `io`.
func detectDatabaseFormat(path: String) throws -> DetectedFormat {
    try inspectDatabaseFile(path: path).format
}

/// Reads up to 4096 bytes from the start of `path` and identifies them; see `identifyDatabaseBytes(_:)`.
///
/// The file is opened with `O_NOFOLLOW` so a symbolic link planted in place of the database is reported, not read,
/// and with `O_NONBLOCK` so a FIFO cannot hang the caller; anything but a regular file is reported as foreign.
///
/// - Throws: `fileNotFound`, `permissionDenied`, `insecureFile` (a symbolic link) or `io`.
func inspectDatabaseFile(path: String) throws -> DatabaseFileSignature {
    let descriptor = Glibc.open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
    guard descriptor >= 0 else {
        let code = errno
        switch code {
        case ENOENT, ENOTDIR:
            throw SASLDBError.fileNotFound(path: path)
        case EACCES, EPERM:
            throw SASLDBError.permissionDenied(path: path, operation: "read")
        case ELOOP:
            throw SASLDBError.insecureFile(
                path: path,
                reason: "it is a symbolic link",
                fix: "give the path of the real file, or replace the link by the file"
            )
        default:
            throw SASLDBError.io(path: path, operation: "open", errno: code)
        }
    }
    defer { Glibc.close(descriptor) }

    var status = stat()
    guard fstat(descriptor, &status) == 0 else {
        throw SASLDBError.io(path: path, operation: "stat", errno: errno)
    }
    if let kind = nonRegularFileKind(status.st_mode) {
        return DatabaseFileSignature(format: .foreign(kind), summary: kind)
    }

    let bytes = try readPrefix(descriptor: descriptor, path: path, limit: 4096)
    return identifyDatabaseBytes(bytes)
}

/// Identifies the first bytes of a file (4096 are enough for every format recognised here).
///
/// Recognises GDBM (all five magics, in both byte orders), Berkeley DB hash/btree/queue/heap metadata pages (both byte
/// orders; hash versions 7–9 are the ones Berkeley DB 5.3 opens), Berkeley DB 1.85, LMDB, SQLite 3, Samba TDB, the
/// `.dir` half of a gdbm NDBM pair, gdbm and Berkeley DB text dumps, common compressed formats and plain text. Classic
/// NDBM `.pag` files have no magic and are reported as unknown binary data.
func identifyDatabaseBytes(_ bytes: [UInt8]) -> DatabaseFileSignature {
    if bytes.isEmpty {
        return DatabaseFileSignature(format: .empty, summary: "empty")
    }
    let checks: [([UInt8]) -> DatabaseFileSignature?] = [
        identifyGDBM, identifyBerkeleyDB, identifyBerkeleyDB185, identifyLMDB, identifyByPrefix, identifyText,
    ]
    for check in checks {
        if let signature = check(bytes) {
            return signature
        }
    }
    let shown = bytes.prefix(4).map { hexByte($0) }.joined(separator: " ")
    let what = "unknown binary data (first bytes: \(shown))"
    return DatabaseFileSignature(format: .foreign(what), summary: what)
}

/// What a file that a database library refused looks like, for `notADatabase(looksLike:)`; `fallback` when the file
/// cannot be read.
func describeForeignFile(path: String, fallback: String) -> String {
    guard let detected = try? detectDatabaseFormat(path: path) else { return fallback }
    return detected.description
}

// MARK: - GDBM

/// gdbm's header magics (gdbmconst.h): the original one, and the 32/64-bit file offset variants of the standard and
/// the extended ("numsync") header. gdbm opens the original one and the variants matching this platform's `off_t`.
private let gdbmOriginalMagic: UInt32 = 0x1357_9ace
private let gdbmMagic32: UInt32 = 0x1357_9acd
private let gdbmMagic64: UInt32 = 0x1357_9acf
private let gdbmNumsyncMagic32: UInt32 = 0x1357_9ad0
private let gdbmNumsyncMagic64: UInt32 = 0x1357_9ad1

private func identifyGDBM(_ bytes: [UInt8]) -> DatabaseFileSignature? {
    guard let native = loadNative(bytes, at: 0) else { return nil }
    let offsetIs64Bit = MemoryLayout<off_t>.size == 8
    let all = [gdbmOriginalMagic, gdbmMagic32, gdbmMagic64, gdbmNumsyncMagic32, gdbmNumsyncMagic64]
    if all.contains(native.byteSwapped) {
        let what = "a GDBM file of another byte order"
        return DatabaseFileSignature(format: .foreign(what), summary: "GNU dbm (GDBM) database, byte-swapped")
    }
    switch native {
    case gdbmOriginalMagic:
        return DatabaseFileSignature(format: .sasldb(.gdbm), summary: "GNU dbm (GDBM) database, original format")
    case gdbmMagic64 where offsetIs64Bit, gdbmMagic32 where !offsetIs64Bit:
        return DatabaseFileSignature(format: .sasldb(.gdbm), summary: "GNU dbm (GDBM) database, native byte order")
    case gdbmNumsyncMagic64 where offsetIs64Bit, gdbmNumsyncMagic32 where !offsetIs64Bit:
        return DatabaseFileSignature(
            format: .sasldb(.gdbm),
            summary: "GNU dbm (GDBM) database, extended (numsync) format, native byte order"
        )
    case gdbmMagic32, gdbmMagic64, gdbmNumsyncMagic32, gdbmNumsyncMagic64:
        let bits = native == gdbmMagic32 || native == gdbmNumsyncMagic32 ? 32 : 64
        return DatabaseFileSignature(
            format: .foreign("a GDBM file made on a system with \(bits)-bit file offsets"),
            summary: "GNU dbm (GDBM) database, \(bits)-bit file offsets"
        )
    default:
        return nil
    }
}

// MARK: - Berkeley DB

/// The metadata page of every Berkeley DB 2.x–6.x database starts with an LSN (8 bytes) and a page number (4 bytes),
/// followed by the magic, the version, the page size and the encryption algorithm byte.
private let berkeleyMagicOffset = 12
private let berkeleyHashMagic: UInt32 = 0x06_1561
private let berkeleyBtreeMagic: UInt32 = 0x05_3162
private let berkeleyQueueMagic: UInt32 = 0x04_2253
private let berkeleyHeapMagic: UInt32 = 0x07_4582
/// The hash versions Berkeley DB 5.3 opens without `db_upgrade` (DB_HASHOLDVER … DB_HASHVERSION in db.h).
private let berkeleyReadableHashVersions: ClosedRange<UInt32> = 7...9

private func identifyBerkeleyDB(_ bytes: [UInt8]) -> DatabaseFileSignature? {
    guard let raw = loadNative(bytes, at: berkeleyMagicOffset) else { return nil }
    // Berkeley DB writes in the creating machine's byte order and swaps on the fly when reading, so both orders work.
    let swapped: Bool
    let magic: UInt32
    if [berkeleyHashMagic, berkeleyBtreeMagic, berkeleyQueueMagic, berkeleyHeapMagic].contains(raw) {
        swapped = false
        magic = raw
    } else if [berkeleyHashMagic, berkeleyBtreeMagic, berkeleyQueueMagic, berkeleyHeapMagic].contains(raw.byteSwapped) {
        swapped = true
        magic = raw.byteSwapped
    } else {
        return nil
    }
    let version = loadNative(bytes, at: berkeleyMagicOffset + 4).map { swapped ? $0.byteSwapped : $0 } ?? 0
    let order = swapped ? "byte-swapped" : "native byte-order"
    let kind: String
    switch magic {
    case berkeleyHashMagic:
        kind = "Hash"
    case berkeleyBtreeMagic:
        kind = "Btree"
    case berkeleyQueueMagic:
        kind = "Queue"
    default:
        kind = "Heap"
    }
    let summary = "Berkeley DB (\(kind), version \(version), \(order))"
    guard magic == berkeleyHashMagic else {
        let what = "a Berkeley DB \(kind.lowercased()) database, not the hash Cyrus uses"
        return DatabaseFileSignature(format: .foreign(what), summary: summary)
    }
    guard berkeleyReadableHashVersions.contains(version) else {
        let age = version < berkeleyReadableHashVersions.lowerBound ? "an older" : "a newer"
        let what = "a Berkeley DB hash database of version \(version), made by \(age) Berkeley DB than 5.3 reads"
        return DatabaseFileSignature(format: .foreign(what), summary: summary)
    }
    // Byte 24 names the encryption algorithm; Cyrus never sets a password, so an encrypted file cannot be a sasldb.
    if bytes.count > 24, bytes[24] != 0 {
        return DatabaseFileSignature(format: .foreign("an encrypted Berkeley DB hash database"), summary: summary)
    }
    return DatabaseFileSignature(format: .sasldb(.berkeleyDB), summary: summary)
}

/// Berkeley DB 1.85 (libdb1, as in old BSD/glibc dbopen) puts its magic and version at offset 0.
private func identifyBerkeleyDB185(_ bytes: [UInt8]) -> DatabaseFileSignature? {
    guard let raw = loadNative(bytes, at: 0), let rawVersion = loadNative(bytes, at: 4) else { return nil }
    for (magic, version) in [(raw, rawVersion), (raw.byteSwapped, rawVersion.byteSwapped)] {
        let kind: String
        if magic == berkeleyHashMagic, version == 1 || version == 2 {
            kind = "Hash"
        } else if magic == berkeleyBtreeMagic, version == 2 || version == 3 {
            kind = "Btree"
        } else {
            continue
        }
        let what = "a Berkeley DB 1.85 \(kind.lowercased()) database, which Berkeley DB 5.3 cannot read"
        return DatabaseFileSignature(format: .foreign(what), summary: "Berkeley DB 1.85 (\(kind), version \(version))")
    }
    return nil
}

// MARK: - Other formats

/// LMDB's first meta page: a page header (16 bytes with 64-bit page numbers, 12 with 32-bit) and then 0xBEEFC0DE.
private func identifyLMDB(_ bytes: [UInt8]) -> DatabaseFileSignature? {
    let lmdbMagic: UInt32 = 0xBEEF_C0DE
    for offset in [16, 12] {
        guard let value = loadNative(bytes, at: offset) else { continue }
        if value == lmdbMagic || value.byteSwapped == lmdbMagic {
            let what = "an LMDB database, which is Cyrus's lmdb backend and not handled here"
            return DatabaseFileSignature(format: .foreign(what), summary: "LMDB database")
        }
    }
    return nil
}

/// Formats recognised by a fixed byte string at the start of the file.
private let prefixSignatures: [(prefix: [UInt8], what: String)] = [
    (Array("SQLite format 3\u{0}".utf8), "an SQLite 3 database"),
    (Array("TDB file\n".utf8), "a Samba TDB database"),
    (Array("ToKyO CaBiNeT".utf8), "a Tokyo Cabinet database"),
    (Array("GDBM".utf8) + [0, 0, 0], "the .dir half of an NDBM database made by gdbm, whose data is in the .pag file"),
    (Array("# GDBM dump file".utf8), "a gdbm text dump, which gdbm_load turns back into a database"),
    (Array("VERSION=".utf8), "a Berkeley DB text dump, which db5.3_load turns back into a database"),
    ([0x1f, 0x8b], "gzip-compressed data"),
    (Array("BZh".utf8), "bzip2-compressed data"),
    ([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], "xz-compressed data"),
    ([0x28, 0xb5, 0x2f, 0xfd], "zstd-compressed data"),
    ([0x50, 0x4b, 0x03, 0x04], "a zip archive"),
]

private func identifyByPrefix(_ bytes: [UInt8]) -> DatabaseFileSignature? {
    for signature in prefixSignatures where bytes.starts(with: signature.prefix) {
        return DatabaseFileSignature(format: .foreign(signature.what), summary: signature.what)
    }
    return nil
}

/// Printable ASCII, tab, line feed, form feed and carriage return, or valid UTF-8 (a sequence cut off by the 4096-byte
/// read limit at the very end is allowed). The content itself is never quoted: it might be a password list.
private func identifyText(_ bytes: [UInt8]) -> DatabaseFileSignature? {
    let allowedControls: Set<UInt8> = [0x09, 0x0a, 0x0c, 0x0d]
    for byte in bytes where byte < 0x20 || byte == 0x7f {
        guard allowedControls.contains(byte) else { return nil }
    }
    if bytes.contains(where: { $0 >= 0x80 }) {
        // Drop up to three trailing bytes that may be the start of a sequence cut by the read limit.
        let valid = (0...min(3, bytes.count - 1)).contains { cut in
            String(validating: bytes.dropLast(cut), as: UTF8.self) != nil
        }
        guard valid else { return nil }
    }
    return DatabaseFileSignature(format: .foreign("a text file"), summary: "text")
}

// MARK: - Helpers

/// The four bytes at `offset` read in this machine's byte order, or `nil` when the file is shorter.
private func loadNative(_ bytes: [UInt8], at offset: Int) -> UInt32? {
    guard bytes.count >= offset + 4 else { return nil }
    return bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
}

private func hexByte(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]])
}

/// Names a file type that cannot be a database, or `nil` for a regular file.
private func nonRegularFileKind(_ mode: mode_t) -> String? {
    switch mode & S_IFMT {
    case S_IFREG:
        return nil
    case S_IFDIR:
        return "a directory"
    case S_IFIFO:
        return "a named pipe (FIFO)"
    case S_IFSOCK:
        return "a socket"
    case S_IFCHR, S_IFBLK:
        return "a device"
    default:
        return "not a regular file"
    }
}

/// Reads until `limit` bytes or end of file, retrying interrupted and short reads.
private func readPrefix(descriptor: Int32, path: String, limit: Int) throws -> [UInt8] {
    var buffer = [UInt8](repeating: 0, count: limit)
    var filled = 0
    while filled < limit {
        let count = buffer.withUnsafeMutableBytes { raw in
            read(descriptor, raw.baseAddress.map { $0 + filled }, limit - filled)
        }
        if count < 0 {
            if errno == EINTR {
                continue
            }
            throw SASLDBError.io(path: path, operation: "read", errno: errno)
        }
        if count == 0 {
            break
        }
        filled += count
    }
    return Array(buffer.prefix(filled))
}
