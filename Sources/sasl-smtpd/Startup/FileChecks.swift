import SASLDB

#if canImport(Glibc)
import Glibc
#endif

/// The checks the daemon makes on the files it trusts, before and after it drops privileges: a private key only its
/// owner can read, a database nobody else can write, a spool it can write.
enum FileChecks {
    /// The largest certificate or key file read.
    static let maximumPEMSize = 1 << 20

    /// Reads the private key, refusing one that group or others can read or write, or that is owned by someone
    /// other than root or the daemon's user (`allowedOwners`).
    static func readPrivateKey(_ path: String, allowedOwners: Set<uid_t>) throws(ConfigurationError) -> [UInt8] {
        try readProtectedFile(path, key: "tls_key", forbiddenMode: 0o077, allowedOwners: allowedOwners)
    }

    /// Reads a file of secrets (`relay_auth_file`), refusing one that others can read or write, that its group can
    /// write, or that is owned by someone other than root or the daemon's user (`allowedOwners`). Its group may
    /// read it (`root:sasl-smtpd 0640`).
    static func readSecretsFile(
        _ path: String,
        key: String,
        allowedOwners: Set<uid_t>
    ) throws(ConfigurationError) -> [UInt8] {
        try readProtectedFile(path, key: key, forbiddenMode: 0o027, allowedOwners: allowedOwners)
    }

    /// Reads `path` (named by `key`), refusing it when its mode has any bit of `forbiddenMode` or its owner is not
    /// in `allowedOwners`; each refusal names the command that fixes it.
    private static func readProtectedFile(
        _ path: String,
        key: String,
        forbiddenMode: mode_t,
        allowedOwners: Set<uid_t>
    ) throws(ConfigurationError) -> [UInt8] {
        try readFile(path, what: key) { status throws(ConfigurationError) in
            if status.st_mode & forbiddenMode != 0 {
                throw ConfigurationError(
                    "\(key) \(path) is open to group or others (mode \(octal(status.st_mode & 0o777))): chmod 600 \(path)"
                )
            }
            if !allowedOwners.contains(status.st_uid) {
                throw ConfigurationError(
                    "\(key) \(path) belongs to uid \(status.st_uid), which is neither root nor the daemon's user: "
                        + "chown root \(path)"
                )
            }
        }
    }

    /// Reads a certificate chain, or CA certificates (any owner, any mode: they are public); `key` names the file.
    static func readCertificate(_ path: String, key: String = "tls_certificate") throws(ConfigurationError) -> [UInt8] {
        try readFile(path, what: key) { _ throws(ConfigurationError) in }
    }

    /// Checks the credential database: a regular file nobody but its owner and group can write, in a directory
    /// others cannot write. Returns a warning when it does not exist yet.
    static func checkDatabase(_ path: String) throws(ConfigurationError) -> String? {
        // A PostgreSQL store has no file here: its server guards its own.
        guard !PostgresLocation.isURL(path) else { return nil }
        var status = stat()
        guard stat(path, &status) == 0 else {
            if errno == ENOENT {
                return "sasldb_path \(path) does not exist yet: every AUTH fails until `sasldb add` creates it"
            }
            throw ConfigurationError("sasldb_path \(path): \(SystemInfo.describe(errno))")
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw ConfigurationError("sasldb_path \(path) is not a regular file")
        }
        if status.st_mode & 0o002 != 0 {
            throw ConfigurationError(
                "sasldb_path \(path) is writable by others, who could add themselves a password: chmod o-w \(path)"
            )
        }
        let directory = directoryName(of: path)
        var directoryStatus = stat()
        if stat(directory, &directoryStatus) == 0 && directoryStatus.st_mode & 0o002 != 0
            && directoryStatus.st_mode & S_ISVTX == 0
        {
            throw ConfigurationError(
                "the directory \(directory) of sasldb_path is writable by others, who could replace the database: "
                    + "chmod o-w \(directory)"
            )
        }
        return nil
    }

    /// Whether the process (as it is now) can read `path`; the reason when it cannot.
    static func readableProblem(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            close(fd)
            return nil
        }
        return errno == ENOENT ? nil : SystemInfo.describe(errno)
    }

    /// Whether `path` names something (following symbolic links).
    static func exists(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0
    }

    /// Whether `path` is an executable regular file.
    static func isExecutable(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFREG && access(path, X_OK) == 0
    }

    /// `/a/b` of `/a/b/c`; `.` of `c`.
    static func directoryName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// `0640`.
    static func octal(_ mode: mode_t) -> String {
        let text = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - text.count)) + text
    }

    /// Opens `path`, checks the opened file (not the name: no race with a rename), and reads it.
    private static func readFile(
        _ path: String,
        what: String,
        check: (stat) throws(ConfigurationError) -> Void
    ) throws(ConfigurationError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else { throw ConfigurationError("\(what) \(path): \(SystemInfo.describe(errno))") }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            throw ConfigurationError("\(what) \(path): \(SystemInfo.describe(errno))")
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw ConfigurationError("\(what) \(path) is not a regular file")
        }
        try check(status)
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw ConfigurationError("\(what) \(path): \(SystemInfo.describe(errno))")
            }
            bytes += buffer.prefix(count)
            guard bytes.count <= maximumPEMSize else { throw ConfigurationError("\(what) \(path) is too large") }
        }
        // The buffer held part of the key.
        buffer.overwriteWithZeros()
        return bytes
    }
}
