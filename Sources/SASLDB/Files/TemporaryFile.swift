import CSystemShims

#if canImport(Glibc)
import Glibc
#endif

/// The new version of a database file, built in a private directory beside it and renamed over it when complete.
///
/// Whoever may write the database's directory (Debian's `sasl` group with a 0770 `/etc/sasl2`, say) can rename and
/// replace its entries, so a copy that the database library reopens by name there could be swapped for a symbolic link
/// or a file of theirs, and root would write, chown and publish it. The copy therefore lives in a directory created
/// 0700 for this writer alone (`.<name>.sasldb-tmp-<pid>-<hex>`), checked to be ours once opened, and everything after
/// that goes through that directory's descriptor: the libraries reach the copy as `/proc/self/fd/<n>/<name>`, and the
/// finished copy is moved into the shared directory with `renameat`/`linkat` from it. Renaming or replacing the private
/// directory's entry in the shared directory then changes nothing: the descriptor keeps pointing at our directory,
/// which nobody else can enter.
///
/// The name carries the writer's process id, so a private directory left by a writer killed mid-way is recognised and
/// removed by the next writer.
final class TemporaryFile {
    /// Where the database libraries reach the copy: a path through the private directory's descriptor.
    let path: String
    private let directory: String
    private let prefix: String
    private let name: String
    private let privateName: String
    private let directoryFD: Int32
    private let privateFD: Int32

    /// Opens the database's directory, removes the private directories of dead writers when `removingStale`, and
    /// creates this writer's own.
    ///
    /// - Throws: ``SASLDBError`` when the directory cannot be written, or the private directory is not ours once
    ///   opened (someone replaced it in between) or cannot be reached through `/proc/self/fd`.
    init(beside target: String, removingStale: Bool) throws {
        directory = FileSafety.directoryName(of: target)
        name = FileSafety.baseName(of: target)
        prefix = "." + name + ".sasldb-tmp-"
        directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directoryFD >= 0 else {
            throw Self.failure("open", errno, path: directory, directory: directory)
        }
        do {
            if removingStale { Self.removeStale(in: directoryFD, prefix: prefix) }
            (privateName, privateFD) = try Self.makePrivateDirectory(in: directoryFD, prefix: prefix, at: directory)
        } catch {
            Glibc.close(directoryFD)
            throw error
        }
        path = "/proc/self/fd/\(privateFD)/\(name)"
        do {
            try checkReachable()
        } catch {
            discard()
            throw error
        }
    }

    /// Creates the file exclusively with mode 0600, filled with the contents of `source` when given.
    ///
    /// Without a source nothing is created: the database library creates the file itself.
    func create(copying source: Int32?) throws {
        guard let source else { return }
        let fd = openat(privateFD, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure("create", errno) }
        defer { Glibc.close(fd) }
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
        let fd = openat(privateFD, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw failure("open", errno) }
        defer { Glibc.close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw failure("stat", errno) }
        if status.st_uid != owner || status.st_gid != group {
            guard fchown(fd, owner, group) == 0 else {
                let code = errno
                if code == EPERM {
                    throw SASLDBError.insecureFile(
                        path: shownPath,
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

    /// Atomically replaces the database with this file and makes the rename durable.
    func publishReplacing() throws {
        guard renameat(privateFD, name, directoryFD, name) == 0 else { throw failure("rename", errno) }
        fsync(directoryFD)
    }

    /// Publishes this file as the database only if no file is there; `false` when one appeared meanwhile.
    func publishIfAbsent() throws -> Bool {
        guard linkat(privateFD, name, directoryFD, name, 0) == 0 else {
            let code = errno
            if code == EEXIST { return false }
            throw failure("link", code)
        }
        fsync(directoryFD)
        return true
    }

    /// Removes the private directory and whatever is left in it (after a failure, or once published), and closes the
    /// descriptors.
    func discard() {
        Self.empty(privateFD)
        // Only if the name still leads to our directory: rmdir removes nothing but an empty directory anyway.
        var held = stat()
        var named = stat()
        if fstat(privateFD, &held) == 0, fstatat(directoryFD, privateName, &named, AT_SYMLINK_NOFOLLOW) == 0,
            held.st_dev == named.st_dev, held.st_ino == named.st_ino
        {
            unlinkat(directoryFD, privateName, AT_REMOVEDIR)
        }
        Glibc.close(privateFD)
        Glibc.close(directoryFD)
    }

    // MARK: The private directory

    /// Creates a directory 0700 under a fresh name with our prefix and opens it, refusing one that is not ours when
    /// opened (replaced between `mkdirat` and `openat`).
    private static func makePrivateDirectory(
        in directoryFD: Int32,
        prefix: String,
        at directory: String
    ) throws -> (String, Int32) {
        for _ in 0..<16 {
            // The system's generator, not libcrypto's: its first use would load OpenSSL's configuration, 1.4 ms of
            // every `sasldb add` (measured with the release build). The name needs only to be unguessable; mkdirat's
            // EEXIST and the owner check do the rest.
            let suffix = String(UInt64.random(in: .min ... .max), radix: 16)
            let candidate = prefix + String(getpid()) + "-" + suffix
            guard mkdirat(directoryFD, candidate, 0o700) == 0 else {
                if errno == EEXIST { continue }
                throw failure("create", errno, path: directory + "/" + candidate, directory: directory)
            }
            let fd = openat(directoryFD, candidate, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else {
                throw failure("open", errno, path: directory + "/" + candidate, directory: directory)
            }
            var status = stat()
            guard fstat(fd, &status) == 0, status.st_uid == geteuid(), status.st_mode & 0o077 == 0 else {
                Glibc.close(fd)
                throw SASLDBError.insecureFile(
                    path: directory + "/" + candidate,
                    reason: "the private directory of this write was replaced by another user's before it was opened",
                    fix: "find who else may write \(directory) and remove their write access"
                )
            }
            return (candidate, fd)
        }
        throw failure("create", EEXIST, path: directory + "/" + prefix, directory: directory)
    }

    /// The libraries open ``path`` by name: make sure it leads to our directory, with a clear message when `/proc`
    /// is not mounted.
    private func checkReachable() throws {
        let through = "/proc/self/fd/\(privateFD)"
        var held = stat()
        var reached = stat()
        guard fstat(privateFD, &held) == 0, stat(through, &reached) == 0, held.st_dev == reached.st_dev,
            held.st_ino == reached.st_ino
        else {
            throw SASLDBError.insecureFile(
                path: directory,
                reason: "the private copy of a write is reached through \(through), which does not lead to it",
                fix: "mount /proc"
            )
        }
    }

    /// Removes every entry of the directory open as `fd` (a copy, and whatever the library left beside it).
    private static func empty(_ fd: Int32) {
        forEachEntry(of: fd) { entryName in
            if entryName != "." && entryName != ".." { unlinkat(fd, entryName, 0) }
        }
    }

    /// Removes what writers that were killed left: entries with our prefix whose process no longer exists. A private
    /// directory is emptied through a descriptor opened without following links and only when it is ours; a plain
    /// file is a copy left by an earlier version, which built it directly in the shared directory.
    private static func removeStale(in directoryFD: Int32, prefix: String) {
        forEachEntry(of: directoryFD) { entryName in
            guard entryName.hasPrefix(prefix) else { return }
            let rest = entryName.dropFirst(prefix.count)
            guard let dash = rest.firstIndex(of: "-"), let pid = pid_t(rest[..<dash]) else { return }
            guard pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH else { return }
            let fd = openat(directoryFD, entryName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else {
                unlinkat(directoryFD, entryName, 0)
                return
            }
            var status = stat()
            if fstat(fd, &status) == 0 && status.st_uid == geteuid() {
                empty(fd)
                unlinkat(directoryFD, entryName, AT_REMOVEDIR)
            }
            Glibc.close(fd)
        }
    }

    /// Calls `body` with the name of every entry of the directory open as `fd`, read from its start through a
    /// duplicate descriptor (`closedir` closes that one, not `fd`).
    private static func forEachEntry(of fd: Int32, _ body: (String) -> Void) {
        let listing = dup(fd)
        guard listing >= 0 else { return }
        guard let handle = fdopendir(listing) else {
            Glibc.close(listing)
            return
        }
        defer { closedir(handle) }
        rewinddir(handle)
        while let entry = readdir(handle) {
            body(
                withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
            )
        }
    }

    /// The copy's path in messages: the one an administrator can look at.
    private var shownPath: String { directory + "/" + privateName + "/" + name }

    private func failure(_ operation: String, _ code: Int32) -> SASLDBError {
        Self.failure(operation, code, path: shownPath, directory: directory)
    }

    private static func failure(_ operation: String, _ code: Int32, path: String, directory: String) -> SASLDBError {
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
