#if canImport(Glibc)
import Glibc
#endif

/// The checks every open of a database file goes through before any library touches it.
enum FileSafety {
    /// The file's status, or `nil` when it does not exist.
    ///
    /// - Throws: ``SASLDBError/insecureFile(path:reason:fix:)`` for a symlink, something other than a regular file, or a
    ///   file others can write; ``SASLDBError/permissionDenied(path:operation:)`` when the directory cannot be searched.
    static func inspect(_ path: String) throws -> stat? {
        var status = stat()
        guard lstat(path, &status) == 0 else {
            let code = errno
            if code == ENOENT { return nil }
            if code == EACCES { throw SASLDBError.permissionDenied(path: path, operation: "read") }
            throw SASLDBError.io(path: path, operation: "stat", errno: code)
        }
        try check(status, path: path)
        return status
    }

    /// Refuses a status that is not a regular file owned safely.
    static func check(_ status: stat, path: String) throws {
        let kind = status.st_mode & S_IFMT
        if kind == S_IFLNK {
            throw SASLDBError.insecureFile(
                path: path,
                reason: "it is a symbolic link, which an attacker could point anywhere",
                fix: "give the path of the real file instead"
            )
        }
        guard kind == S_IFREG else {
            throw SASLDBError.insecureFile(
                path: path,
                reason: "it is not a regular file",
                fix: "give the path of a file"
            )
        }
        if status.st_mode & S_IWOTH != 0 {
            throw SASLDBError.insecureFile(
                path: path,
                reason: "other users can write it",
                fix: "remove their write access with: chmod o-w \(path)"
            )
        }
    }

    /// Refuses a parent directory where others could swap the file: writable by others without the sticky bit.
    static func checkDirectory(of path: String) throws {
        let directory = directoryName(of: path)
        var status = stat()
        guard stat(directory, &status) == 0 else {
            let code = errno
            if code == ENOENT { throw SASLDBError.fileNotFound(path: directory) }
            if code == EACCES { throw SASLDBError.permissionDenied(path: directory, operation: "search") }
            throw SASLDBError.io(path: directory, operation: "stat", errno: code)
        }
        if status.st_mode & S_IWOTH != 0 && status.st_mode & S_ISVTX == 0 {
            throw SASLDBError.insecureFile(
                path: directory,
                reason: "other users can write this directory and replace the database",
                fix: "remove their write access with: chmod o-w \(directory)"
            )
        }
    }

    /// The directory part of `path` (`.` when there is none).
    static func directoryName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    /// The last component of `path`.
    static func baseName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}
