#if canImport(Glibc)
import Glibc
#endif

/// The file of the Unix-domain socket: a stale one from an earlier run is removed before binding, anything else at
/// the path is left alone and refused; once bound, the socket is opened to every local user.
enum LocalSocketFile {
    /// Removes a socket left at `path` by an earlier run. `lstat`, not `stat`: a symbolic link planted there is
    /// refused, never followed.
    ///
    /// - Throws: ``PasswordServiceError/localSocket(_:)`` when the path holds something else or cannot be removed.
    static func removeStale(_ path: String) throws(PasswordServiceError) {
        var status = stat()
        guard lstat(path, &status) == 0 else {
            if errno == ENOENT { return }
            throw .localSocket("cannot examine \(path): \(String(cString: strerror(errno)))")
        }
        guard status.st_mode & S_IFMT == S_IFSOCK else {
            throw .localSocket("\(path) exists and is not a socket: remove it or choose another passwd_socket")
        }
        guard unlink(path) == 0 else {
            throw .localSocket("cannot remove the stale socket \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Opens the bound socket to every local user (mode 0666): connecting is harmless, the peer's uid decides what it
    /// may change.
    static func openToEveryone(_ path: String) throws(PasswordServiceError) {
        guard chmod(path, 0o666) == 0 else {
            throw .localSocket("cannot make \(path) mode 0666: \(String(cString: strerror(errno)))")
        }
    }

    /// Removes the socket at `path` when the server stops, if it is still a socket.
    static func remove(_ path: String) {
        var status = stat()
        if lstat(path, &status) == 0, status.st_mode & S_IFMT == S_IFSOCK { unlink(path) }
    }
}
