import PasswordChange

#if canImport(Glibc)
import Glibc
#endif

/// Who may run a setuid `chgsaslpasswd`: the `chgsaslpasswd_allow` list of the site configuration, user names, uids
/// and `@group`s separated by blanks or commas (for example `www-data` or `@webmail`).
///
/// The helper sets any user's password without the current one, so being able to run it is the right to reset every
/// password: the file's group alone is too wide a grant (every member of it could reset the administrator's
/// password). Without the setting no caller but root is allowed.
struct ChgsaslpasswdCallers {
    /// The site setting.
    static let settingName = PasswordPolicy.SettingName.chgsaslpasswdCallers

    private let entries: [Substring]

    /// The list from the setting's value (`nil`: no setting, nobody but root).
    init(_ value: String?) {
        entries = (value ?? "").split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," })
    }

    /// Whether the caller, by its real user id and real and supplementary groups, is on the list.
    func allowsCaller() -> Bool {
        let uid = getuid()
        if uid == 0 { return true }
        let groups = Self.callerGroups()
        return entries.contains { entry in
            if entry.hasPrefix("@") {
                return Host.groupID(String(entry.dropFirst())).map(groups.contains) ?? false
            }
            return Host.userID(String(entry)) == uid
        }
    }

    /// The caller for messages: `uid 33 (www-data)`.
    static var callerDescription: String {
        let uid = getuid()
        return Host.accountName.map { "uid \(uid) (\($0))" } ?? "uid \(uid)"
    }

    private static func callerGroups() -> Set<gid_t> {
        var groups = [gid_t](repeating: 0, count: Int(max(getgroups(0, nil), 0)))
        let count = getgroups(Int32(groups.count), &groups)
        return Set(groups.prefix(Int(max(count, 0)))).union([getgid()])
    }
}
