#if canImport(Glibc)
import Glibc
#endif

/// The file of a service's Unix-domain socket: a stale one from an earlier run is removed before binding, anything
/// else at the path is left alone and refused; the socket is created open to every local user.
package enum LocalSocketFile {
    /// Removes a socket left at `path` by an earlier run. `lstat`, not `stat`: a symbolic link planted there is
    /// refused, never followed.
    ///
    /// - Throws: ``LocalSocketError`` when the path holds something else or cannot be removed.
    package static func removeStale(_ path: String) throws(LocalSocketError) {
        var status = stat()
        guard lstat(path, &status) == 0 else {
            if errno == ENOENT { return }
            throw LocalSocketError("cannot examine \(path): \(String(cString: strerror(errno)))")
        }
        guard status.st_mode & S_IFMT == S_IFSOCK else {
            throw LocalSocketError("\(path) exists and is not a socket: remove it or choose another passwd_socket")
        }
        guard unlink(path) == 0 else {
            throw LocalSocketError("cannot remove the stale socket \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Runs `bind` with the process umask at 0111, so the socket it creates is born mode 0666, open to every local
    /// user: connecting is harmless, the service decides by the peer's credentials (``PeerCredentials``) what it may
    /// do.
    ///
    /// Setting the mode at creation rather than with `chmod` after the bind matters when the daemon binds as root in a
    /// directory its unprivileged user owns: that user could replace the socket with a symbolic link between the bind
    /// and the `chmod`, and root would make the link's target (`/etc/shadow`) writable by everyone.
    ///
    /// The umask belongs to the whole process: the caller must call this only while nothing else of the process creates
    /// files (a daemon's start-up, before any connection is accepted). The previous umask is restored as soon as
    /// `bind` returns or throws.
    package static func bindingOpenToEveryone<Bound>(_ bind: () async throws -> Bound) async rethrows -> Bound {
        let previous = umask(0o111)
        defer { umask(previous) }
        return try await bind()
    }

    /// Removes the socket at `path` when the server stops, if it is still a socket.
    package static func remove(_ path: String) {
        var status = stat()
        if lstat(path, &status) == 0, status.st_mode & S_IFMT == S_IFSOCK { unlink(path) }
    }
}
