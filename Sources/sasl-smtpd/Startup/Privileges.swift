#if canImport(Glibc)
import Glibc
#endif

/// The user and groups the daemon serves as, and the switch to them.
struct RunIdentity: Equatable, Sendable {
    /// The user's name.
    var userName: String
    /// Its uid.
    var uid: uid_t
    /// The primary group: `group`, else the user's own.
    var gid: gid_t
    /// The supplementary groups: the user's groups from the group database, as `initgroups` sets them (so a user in
    /// group `sasl` reads Debian's `root:sasl 0660` `/etc/sasldb2`).
    var groups: [gid_t]

    /// Looks up `user` and `group` (names or numbers).
    ///
    /// - Throws: ``ConfigurationError`` for a user or group that does not exist.
    init(user: String, group: String) throws(ConfigurationError) {
        guard let entry = getpwnam(user) ?? uid_t(user).flatMap({ getpwuid($0) }) else {
            throw ConfigurationError("user \(user) does not exist: create it (adduser --system --group \(user))")
        }
        userName = String(cString: entry.pointee.pw_name)
        uid = entry.pointee.pw_uid
        if group.isEmpty {
            gid = entry.pointee.pw_gid
        } else if let groupEntry = getgrnam(group) ?? gid_t(group).flatMap({ getgrgid($0) }) {
            gid = groupEntry.pointee.gr_gid
        } else {
            throw ConfigurationError("group \(group) does not exist")
        }
        var count: Int32 = 64
        var list = [gid_t](repeating: 0, count: Int(count))
        while getgrouplist(userName, gid, &list, &count) < 0 {
            guard count > list.count, count <= 65536 else { break }
            list = [gid_t](repeating: 0, count: Int(count))
        }
        groups = Array(list.prefix(max(0, Int(count))))
        if !groups.contains(gid) { groups.insert(gid, at: 0) }
    }

    /// Switches the whole process (every thread: glibc applies set*id to all of them) to this identity, then checks
    /// that root cannot be regained. Supplementary groups first, the group next, the user last: once the uid is not
    /// 0, the groups could no longer change.
    ///
    /// - Throws: ``ConfigurationError`` when a step fails; the caller must then exit, never serve.
    func adopt() throws(ConfigurationError) {
        guard setgroups(groups.count, groups) == 0 else { throw failure("setgroups") }
        guard setgid(gid) == 0 else { throw failure("setgid(\(gid))") }
        guard setuid(uid) == 0 else { throw failure("setuid(\(uid))") }
        guard getuid() == uid, geteuid() == uid, getgid() == gid, getegid() == gid else {
            throw ConfigurationError("the switch to \(userName) did not take: uid \(geteuid()), gid \(getegid())")
        }
        if uid != 0 {
            guard setuid(0) != 0, setgid(0) != 0 else {
                throw ConfigurationError("root privileges could be regained after switching to \(userName)")
            }
        }
        if let thread = Self.threadWithOtherUser(than: uid) {
            throw ConfigurationError("thread \(thread) still runs as another user after switching to \(userName)")
        }
    }

    /// A thread of this process whose real, effective, saved or file-system uid is not `uid` (from
    /// `/proc/self/task/*/status`), `nil` when they all match or `/proc` is not mounted.
    static func threadWithOtherUser(than uid: uid_t) -> String? {
        guard let directory = opendir("/proc/self/task") else { return nil }
        defer { closedir(directory) }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name.first?.isNumber == true else { continue }
            guard let status = try? ConfigurationFile.read("/proc/self/task/\(name)/status") else { continue }
            let line = status.split(separator: "\n").first { $0.hasPrefix("Uid:") } ?? ""
            let values = line.dropFirst(4).split(whereSeparator: { $0 == " " || $0 == "\t" })
            if values.contains(where: { uid_t($0) != uid }) { return name }
        }
        return nil
    }

    /// The identity of the process now.
    static var current: (uid: uid_t, gid: gid_t) { (geteuid(), getegid()) }

    private func failure(_ call: String) -> ConfigurationError {
        ConfigurationError("\(call) failed while switching to \(userName): \(SystemInfo.describe(errno))")
    }
}
