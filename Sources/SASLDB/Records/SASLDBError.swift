#if canImport(Glibc)
import Glibc
#endif

/// Everything that can go wrong in the credential store, each case with a sentence an administrator can act on.
///
/// No case ever carries a password or a secret value: only paths, user names and library messages.
public enum SASLDBError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The database file does not exist.
    case fileNotFound(path: String)
    /// The file exists but is not a sasldb in a format we know; `looksLike` names what it appears to be.
    case notADatabase(path: String, looksLike: String)
    /// The file has the right magic but the library could not read it.
    case corrupt(path: String, detail: String)
    /// A record whose key does not have the `authid NUL realm NUL property` shape.
    case malformedKey(path: String, keyLength: Int)
    /// The operating system refused access.
    case permissionDenied(path: String, operation: String)
    /// The file is a symlink, writable by others, or otherwise unsafe to use.
    case insecureFile(path: String, reason: String, fix: String)
    /// Another writer held the lock for longer than the timeout.
    case busy(path: String, waitedMilliseconds: Int)
    /// A user name that cannot be stored.
    case invalidName(String)
    /// A password that cannot be stored; the reason never contains the password.
    case invalidPassword(String)
    /// A value that the format cannot hold.
    case invalidValue(String)
    /// A system call failed.
    case io(path: String, operation: String, errno: Int32)
    /// The database library reported an error.
    case backend(path: String, detail: String)
    /// Input for import could not be parsed.
    case invalidInput(line: Int, reason: String)
    /// A database server could not be reached or did not answer in time: a temporary failure, retried by the caller.
    case unavailable(store: String, detail: String)
    /// The database server refused the login (a wrong password, a role without access).
    case loginRefused(store: String, user: String, detail: String)
    /// The store's tables are missing (`found` is `nil`) or of a version this program does not know.
    case schemaVersion(store: String, found: Int?, supported: Int)

    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "\(path): no such database file"
        case .notADatabase(let path, let looksLike):
            return "\(path): not a sasldb database (it looks like \(looksLike))"
        case .corrupt(let path, let detail):
            return "\(path): the database is damaged: \(detail)"
        case .malformedKey(let path, let keyLength):
            return "\(path): a record key of \(keyLength) bytes is not of the form authid NUL realm NUL property"
        case .permissionDenied(let path, let operation):
            return "\(path): permission denied (\(operation)); run as a user that may \(operation) it"
        case .insecureFile(let path, let reason, let fix):
            return "\(path): refusing to use it: \(reason); \(fix)"
        case .busy(let path, let waited):
            return "\(path): database busy: another writer held it for \(waited) ms; try again"
        case .invalidName(let reason):
            return "invalid user name: \(reason)"
        case .invalidPassword(let reason):
            return "invalid password: \(reason)"
        case .invalidValue(let reason):
            return "invalid value: \(reason)"
        case .io(let path, let operation, let code):
            return "\(path): \(operation) failed: \(String(cString: strerror(code)))"
        case .backend(let path, let detail):
            return "\(path): \(detail)"
        case .invalidInput(let line, let reason):
            return "line \(line): \(reason)"
        case .unavailable(let store, let detail):
            return "\(store): the database is unavailable (\(detail)); try again later"
        case .loginRefused(let store, let user, let detail):
            return "\(store): the server refused the login as \(user) (\(detail)); check the user and its password file"
        case .schemaVersion(let store, nil, _):
            return "\(store): the sasldb tables do not exist; create them with sasldb db init"
        case .schemaVersion(let store, let found?, let supported):
            return found > supported
                ? "\(store): the tables are of version \(found), newer than this program's \(supported); upgrade sasldb"
                : "\(store): the tables are of version \(found); migrate them to \(supported) with sasldb db init"
        }
    }

    /// The same error naming `path` where it named `temporary` (a private copy the caller never saw).
    func replacingPath(_ temporary: String, with path: String) -> SASLDBError {
        func swap(_ value: String) -> String { value == temporary ? path : value }
        switch self {
        case .fileNotFound(let value): return .fileNotFound(path: swap(value))
        case .notADatabase(let value, let looksLike): return .notADatabase(path: swap(value), looksLike: looksLike)
        case .corrupt(let value, let detail): return .corrupt(path: swap(value), detail: detail)
        case .malformedKey(let value, let length): return .malformedKey(path: swap(value), keyLength: length)
        case .permissionDenied(let value, let operation):
            return .permissionDenied(path: swap(value), operation: operation)
        case .insecureFile(let value, let reason, let fix):
            return .insecureFile(path: swap(value), reason: reason, fix: fix)
        case .busy(let value, let waited): return .busy(path: swap(value), waitedMilliseconds: waited)
        case .io(let value, let operation, let code): return .io(path: swap(value), operation: operation, errno: code)
        case .backend(let value, let detail): return .backend(path: swap(value), detail: detail)
        case .invalidName, .invalidPassword, .invalidValue, .invalidInput, .unavailable, .loginRefused, .schemaVersion:
            return self
        }
    }
}
