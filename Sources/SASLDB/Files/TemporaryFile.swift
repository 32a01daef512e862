import CSystemShims

#if canImport(Glibc)
import Glibc
#endif

/// The new version of a database file, built beside it under a hidden name and renamed over it when complete.
///
/// The name carries the writer's process id, so a copy left by a writer killed mid-way is recognised and removed by
/// the next writer.
struct TemporaryFile {
    /// Where the new version is built.
    let path: String
    private let directory: String
    private let prefix: String

    init(beside target: String) {
        directory = FileSafety.directoryName(of: target)
        prefix = "." + FileSafety.baseName(of: target) + ".sasldb-tmp-"
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        path = directory + "/" + prefix + String(getpid()) + "-" + String(now.tv_nsec, radix: 16)
    }

    /// Creates the file exclusively with mode 0600, filled with the contents of `source` when given.
    ///
    /// Without a source nothing is created: the database library creates the file itself.
    func create(copying source: Int32?) throws {
        guard let source else { return }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure("create", errno) }
        defer { close(fd) }
        guard lseek(source, 0, SEEK_SET) == 0 else { throw failure("seek", errno) }
        while true {
            let copied = sasldb_copy_file_range(source, fd, 1 << 30)
            if copied == 0 { break }
            if copied < 0 {
                let code = errno
                if code == EINTR { continue }
                if code == EXDEV || code == ENOSYS || code == EINVAL || code == EOPNOTSUPP {
                    try copyByReading(from: source, to: fd)
                    break
                }
                throw failure("copy", code)
            }
        }
    }

    /// The portable fallback when the kernel cannot copy between these files.
    private func copyByReading(from source: Int32, to destination: Int32) throws {
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            if count == 0 { return }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure("read", errno)
            }
            var written = 0
            while written < count {
                let result = buffer.withUnsafeBytes { raw in
                    write(destination, raw.baseAddress.map { $0 + written }, count - written)
                }
                if result < 0 {
                    if errno == EINTR { continue }
                    throw failure("write", errno)
                }
                written += result
            }
        }
    }

    /// Gives the file its final owner, group and mode and makes its contents durable.
    func finish(owner: uid_t, group: gid_t, mode: mode_t) throws {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw failure("open", errno) }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw failure("stat", errno) }
        if status.st_uid != owner || status.st_gid != group {
            guard fchown(fd, owner, group) == 0 else {
                let code = errno
                if code == EPERM {
                    throw SASLDBError.insecureFile(
                        path: path,
                        reason: "only root can give the new version the owner \(owner) and group \(group) of the file",
                        fix: "run as root or as the file's owner"
                    )
                }
                throw failure("chown", code)
            }
        }
        guard fchmod(fd, mode) == 0 else { throw failure("chmod", errno) }
        guard fsync(fd) == 0 else { throw failure("fsync", errno) }
    }

    /// Atomically replaces `target` with this file and makes the rename durable.
    func rename(to target: String) throws {
        guard Glibc.rename(path, target) == 0 else { throw failure("rename", errno) }
        syncDirectory()
    }

    /// Publishes this file as `target` only if no file is there; `false` when one appeared meanwhile.
    func link(to target: String) throws -> Bool {
        guard Glibc.link(path, target) == 0 else {
            let code = errno
            if code == EEXIST { return false }
            throw failure("link", code)
        }
        unlink(path)
        syncDirectory()
        return true
    }

    /// Removes the file if it still exists (after a failure, or when it was linked).
    func removeIfPresent() {
        unlink(path)
    }

    /// Removes copies left by writers that were killed: files with our prefix whose process no longer exists.
    func removeStale() {
        guard let handle = opendir(directory) else { return }
        defer { closedir(handle) }
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard name.hasPrefix(prefix) else { continue }
            let rest = name.dropFirst(prefix.count)
            guard let dash = rest.firstIndex(of: "-"), let pid = pid_t(rest[..<dash]) else { continue }
            if pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH {
                unlink(directory + "/" + name)
            }
        }
    }

    private func syncDirectory() {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }

    private func failure(_ operation: String, _ code: Int32) -> SASLDBError {
        if code == EACCES || code == EPERM {
            return .insecureFile(
                path: directory,
                reason: "an atomic write builds the new version in this directory, which this user cannot write",
                fix: "run as root (users change their own password with the daemon's help, see sasldb(8))"
            )
        }
        return .io(path: path, operation: operation, errno: code)
    }
}
