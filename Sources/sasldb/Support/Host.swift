import CSystemShims

#if canImport(Glibc)
import Glibc
#endif

/// Facts about the machine the command runs on.
enum Host {
    /// The default realm as Cyrus's saslpasswd2 computes it: `gethostname()` lowercased (ASCII only), no DNS lookup.
    static var defaultRealm: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let bytes = buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }
        return String(decoding: bytes.map { $0 >= 0x41 && $0 <= 0x5a ? $0 + 0x20 : $0 }, as: UTF8.self)
    }

    /// Whether the process runs with privileges its caller does not have: started setuid or setgid (or with file
    /// capabilities), or with real and effective ids apart. The caller then chooses the environment, `argv[0]` and,
    /// through a link of its own, the exec path, so none of them may choose a file, a setting or a personality.
    static var isPrivileged: Bool {
        sasldb_is_privileged_exec() != 0 || getuid() != geteuid() || getgid() != getegid()
    }

    /// The value of environment variable `name`, when set and not empty; never for a privileged run (see
    /// ``isPrivileged``), where the caller (a web server behind Roundcube's helper, say) must not choose the file or
    /// the policy.
    static func environment(_ name: String) -> String? {
        guard !isPrivileged else { return nil }
        guard let value = getenv(name) else { return nil }
        let string = String(cString: value)
        return string.isEmpty ? nil : string
    }

    /// The name of the account the real user id belongs to, `nil` when the password database has none.
    static var accountName: String? {
        guard let entry = getpwuid(getuid()), let name = entry.pointee.pw_name else { return nil }
        return String(cString: name)
    }

    /// The name of the account `uid`, its number where the password database has none.
    static func userName(_ uid: uid_t) -> String {
        guard let entry = getpwuid(uid), let name = entry.pointee.pw_name else { return "\(uid)" }
        return String(cString: name)
    }

    /// The uid of the account `name`, or `name` itself when it is a number; `nil` for an unknown account.
    static func userID(_ name: String) -> uid_t? {
        uid_t(name) ?? getpwnam(name).map { $0.pointee.pw_uid }
    }

    /// The gid of the group `name`, or `name` itself when it is a number; `nil` for an unknown group.
    static func groupID(_ name: String) -> gid_t? {
        gid_t(name) ?? getgrnam(name).map { $0.pointee.gr_gid }
    }

    /// The name of the group `gid`, its number where the group database has none.
    static func groupName(_ gid: gid_t) -> String {
        guard let entry = getgrgid(gid), let name = entry.pointee.gr_name else { return "\(gid)" }
        return String(cString: name)
    }
}
