#if canImport(Glibc)
import Glibc
#endif

/// The file of a service's Unix-domain socket: a stale one from an earlier run is removed before binding, anything
/// else at the path is left alone and refused; once bound, the socket is opened to every local user.
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

    /// Opens the bound socket to every local user (mode 0666): connecting is harmless, the service decides by the peer's
    /// credentials (``PeerCredentials``) what it may do.
    ///
    /// - Throws: ``LocalSocketError`` when the mode cannot be set.
    package static func openToEveryone(_ path: String) throws(LocalSocketError) {
        guard chmod(path, 0o666) == 0 else {
            throw LocalSocketError("cannot make \(path) mode 0666: \(String(cString: strerror(errno)))")
        }
    }

    /// Removes the socket at `path` when the server stops, if it is still a socket.
    package static func remove(_ path: String) {
        var status = stat()
        if lstat(path, &status) == 0, status.st_mode & S_IFMT == S_IFSOCK { unlink(path) }
    }
}
