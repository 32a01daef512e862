#if canImport(Glibc)
import Glibc
#endif

/// Whether the user the daemon will serve as may read, write or search a path, judged from the mode bits of every
/// component with that user's uid and groups, as the kernel judges them (POSIX ACLs aside). `--check-config` runs as
/// root before any switch, so `access(2)` would answer for root, not for `user`.
struct AccessCheck {
    /// What is needed of the last component.
    enum Need {
        case read
        /// Search (a directory).
        case search
        /// Write and search: create and remove entries of a directory.
        case writeDirectory
        case execute

        fileprivate var bits: mode_t {
            switch self {
            case .read: return 0o4
            case .search: return 0o1
            case .writeDirectory: return 0o3
            case .execute: return 0o1
            }
        }

        fileprivate var verb: String {
            switch self {
            case .read: return "read"
            case .search: return "search"
            case .writeDirectory: return "write"
            case .execute: return "run"
            }
        }
    }

    /// The name the messages use for the user.
    let userName: String
    let uid: uid_t
    let groups: Set<gid_t>

    /// The user `identity` names, or the process itself when the daemon will not switch.
    init(identity: RunIdentity?) {
        if let identity {
            userName = identity.userName
            uid = identity.uid
            groups = Set(identity.groups + [identity.gid])
        } else {
            uid = geteuid()
            userName = getpwuid(uid).map { String(cString: $0.pointee.pw_name) } ?? "uid \(uid)"
            var list = [gid_t](repeating: 0, count: Int(max(0, getgroups(0, nil))))
            let count = getgroups(Int32(list.count), &list)
            groups = Set(list.prefix(Int(max(0, count))) + [getegid()])
        }
    }

    /// Why the user cannot do `need` to `path`, naming the component that stops it; `nil` when it can. A path that
    /// does not exist is a problem too (`what` names it in the message).
    func problem(_ path: String, need: Need, what: String) -> String? {
        let absolute = path.hasPrefix("/") ? path : Self.currentDirectory + "/" + path
        var prefix = ""
        for component in absolute.split(separator: "/").dropLast() {
            prefix += "/" + component
            var status = stat()
            guard stat(prefix, &status) == 0 else {
                return "\(what) \(path): \(prefix): \(SystemInfo.describe(errno))"
            }
            guard allows(status, 0o1) else { return denial(what, path, need: "search", component: prefix, status) }
        }
        var status = stat()
        guard stat(absolute, &status) == 0 else { return "\(what) \(path): \(SystemInfo.describe(errno))" }
        if need != .read && need != .execute && status.st_mode & S_IFMT != S_IFDIR {
            return "\(what) \(path) is not a directory"
        }
        if need == .execute && status.st_mode & 0o111 == 0 { return "\(what) \(path) is not executable" }
        return allows(status, need.bits) ? nil : denial(what, path, need: need.verb, component: absolute, status)
    }

    /// Whether the mode grants every bit of `bits` (in the `o` position) to this user.
    private func allows(_ status: stat, _ bits: mode_t) -> Bool {
        if uid == 0 { return true }
        let mode = status.st_mode
        if status.st_uid == uid { return (mode >> 6) & bits == bits }
        if groups.contains(status.st_gid) { return (mode >> 3) & bits == bits }
        return mode & bits == bits
    }

    private func denial(_ what: String, _ path: String, need: String, component: String, _ status: stat) -> String {
        let owner = "\(Self.userName(status.st_uid)):\(Self.groupName(status.st_gid))"
        let mode = FileChecks.octal(status.st_mode & 0o7777)
        let groupNames = groups.sorted().map(Self.groupName).joined(separator: ",")
        let shown = component == path ? path : "\(path): \(component)"
        return "\(what) \(shown) (\(owner) \(mode)): user \(userName) (groups \(groupNames)) cannot \(need) it"
    }

    private static func userName(_ uid: uid_t) -> String {
        getpwuid(uid).map { String(cString: $0.pointee.pw_name) } ?? "\(uid)"
    }

    private static func groupName(_ gid: gid_t) -> String {
        getgrgid(gid).map { String(cString: $0.pointee.gr_name) } ?? "\(gid)"
    }

    private static var currentDirectory: String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return "." }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
