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

    /// The value of environment variable `name`, when set and not empty; never for a setuid or setgid run, where
    /// the caller (a web server behind Roundcube's wrapper, say) must not choose the file or the policy.
    static func environment(_ name: String) -> String? {
        guard sasldb_is_privileged_exec() == 0, getuid() == geteuid(), getgid() == getegid() else { return nil }
        guard let value = getenv(name) else { return nil }
        let string = String(cString: value)
        return string.isEmpty ? nil : string
    }
}
