extension PasswordPolicy {
    /// The setting names, the same in the daemon's `sasl-smtpd.conf` and the command's `sasldb.conf`, so one site
    /// policy reads the same wherever it is written.
    public enum SettingName {
        /// The fewest characters (default 8).
        public static let minimumLength = "password_min_length"
        /// The most characters (default 256, at most 2048).
        public static let maximumLength = "password_max_length"
        /// A file of common passwords, one per line, added to the built-in list.
        public static let commonList = "password_common_list"
        /// Every name, for configuration checks.
        public static let all = [minimumLength, maximumLength, commonList]
        /// The password service's local socket, where `sasldb passwd` asks the daemon for a change.
        public static let socket = "passwd_socket"
        /// Who may run a setuid `chgsaslpasswd` (users, uids, `@group`s).
        public static let chgsaslpasswdCallers = "chgsaslpasswd_allow"
        /// The keys of password change that the site file (`/etc/sasl2/sasldb.conf`) may hold beside the store's.
        public static let siteFileKeys: Set<String> = Set(all + [socket, chgsaslpasswdCallers])
    }

    /// Reads a policy from configuration settings; a setting not given keeps its default.
    ///
    /// - Parameter setting: the value of a setting by name, `nil` when not set.
    /// - Throws: ``PasswordChangeError/invalidConfiguration(_:)`` naming the setting at fault.
    public init(setting: (String) -> String?) throws(PasswordChangeError) {
        self.init()
        if let text = setting(SettingName.minimumLength) {
            minimumLength = try Self.number(text, SettingName.minimumLength)
        }
        if let text = setting(SettingName.maximumLength) {
            maximumLength = try Self.number(text, SettingName.maximumLength)
        }
        if let path = setting(SettingName.commonList), !path.isEmpty {
            commonPasswords = try CommonPasswords.load(path: path)
        }
        try validate()
    }

    private static func number(_ text: String, _ name: String) throws(PasswordChangeError) -> Int {
        guard let value = Int(text) else {
            throw .invalidConfiguration("\(name) must be a whole number, not '\(text)'")
        }
        return value
    }
}
