#if canImport(Glibc)
import Glibc
#endif

/// A directory the daemon creates as root for its unprivileged user (the Maildir spool, the password socket's
/// directory), without following symbolic links.
///
/// Its parent may belong to the daemon's user, who could put a symbolic link where the directory is to be made
/// between a path-based `mkdir` and `chown`, and root would give them the link's target (`/etc`). Every step after
/// opening the parent therefore goes through descriptors: `mkdirat` in the parent opened `O_NOFOLLOW`, the new
/// directory opened `O_NOFOLLOW`, then `fchown` and `fchmod` of that descriptor.
enum DaemonDirectory {
    /// Creates `directory` (its parent must exist) with `mode` for `identity` (when running as root); one that exists
    /// is left as it is, unless it is a symbolic link, which is refused. `group`, when given, owns it instead of
    /// `identity`'s group (the group whose members may reach a socket inside).
    ///
    /// - Throws: ``ConfigurationError`` when the parent or the path is a symbolic link, or a step fails.
    static func prepare(
        _ directory: String,
        mode: mode_t,
        for identity: RunIdentity?,
        group: gid_t? = nil
    ) throws(ConfigurationError) {
        var trimmed = Substring(directory)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        let parentPath = FileChecks.directoryName(of: String(trimmed))
        let name = trimmed.lastIndex(of: "/").map { String(trimmed[trimmed.index(after: $0)...]) } ?? String(trimmed)
        let parent = open(parentPath, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard parent >= 0 else {
            let code = errno
            if code == ELOOP || code == ENOTDIR {
                throw ConfigurationError(
                    "cannot create \(directory): its parent \(parentPath) is a symbolic link or not a directory; "
                        + "give the real path"
                )
            }
            throw ConfigurationError(
                "cannot create \(directory): \(SystemInfo.describe(code)) (its parent must exist)"
            )
        }
        defer { close(parent) }
        guard mkdirat(parent, name, mode) == 0 else {
            let code = errno
            guard code == EEXIST else {
                throw ConfigurationError(
                    "cannot create \(directory): \(SystemInfo.describe(code)) (its parent must exist)"
                )
            }
            var status = stat()
            if fstatat(parent, name, &status, AT_SYMLINK_NOFOLLOW) == 0, status.st_mode & S_IFMT == S_IFLNK {
                throw ConfigurationError(
                    "\(directory) is a symbolic link, which is refused: the daemon would create and own files wherever "
                        + "it points; remove it or give the real path"
                )
            }
            return
        }
        guard let identity, geteuid() == 0 else { return }
        try give(name, in: parent, path: directory, mode: mode, to: identity, group: group ?? identity.gid)
    }

    /// Gives the directory just made to `identity` through a descriptor: a symbolic link put in its place meanwhile
    /// makes the open fail instead of being followed.
    private static func give(
        _ name: String,
        in parent: Int32,
        path: String,
        mode: mode_t,
        to identity: RunIdentity,
        group: gid_t
    ) throws(ConfigurationError) {
        let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            throw ConfigurationError(
                "cannot open \(path) just created: \(SystemInfo.describe(errno)) (was it replaced by a symbolic link?)"
            )
        }
        defer { close(fd) }
        guard fchown(fd, identity.uid, group) == 0, fchmod(fd, mode) == 0 else {
            throw ConfigurationError("cannot give \(path) to \(identity.userName): \(SystemInfo.describe(errno))")
        }
    }
}
