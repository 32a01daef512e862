import SASLDB

#if canImport(Glibc)
import Glibc
#endif

/// Files the command writes that hold secrets.
enum PrivateFile {
    /// Creates `path` with mode 0600, refusing to overwrite or follow a symlink, and writes `contents` durably.
    static func create(_ path: String, contents: [UInt8]) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let code = errno
            if code == EEXIST {
                throw SASLDBError.invalidValue("\(path) already exists; choose a new file name")
            }
            throw SASLDBError.io(path: path, operation: "create", errno: code)
        }
        defer { close(fd) }
        let code = Output.writeAll(fd, contents)
        guard code == 0 else { throw SASLDBError.io(path: path, operation: "write", errno: code) }
        guard fsync(fd) == 0 else { throw SASLDBError.io(path: path, operation: "fsync", errno: errno) }
    }
}
