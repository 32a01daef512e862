import SASLDB

/// The site's settings for every sasldb command, so a choice such as "no plaintext on disk" is made once.
///
/// Read from `$SASLDB_CONFIG`, else `/etc/sasl2/sasldb.conf`, in the `key: value` syntax of Cyrus's own files.
/// Command-line options win over it. Keys: `sasldb_path`, `secrets` (as `--secrets`), `no_plaintext` (yes/no),
/// `scram_iteration_counter`, `database_format` (gdbm or bdb), `default_realm`; for `passwd` and `chgsaslpasswd`
/// the `password_*` policy settings (`PasswordPolicy.SettingName`) and `passwd_socket`.
struct SiteConfig: Sendable {
    /// The default location.
    static let defaultPath = "/etc/sasl2/sasldb.conf"

    /// The settings read, empty when there is no file.
    let values: CyrusConfig
    /// The file read, for messages.
    let path: String?

    /// The configuration of this run, read once.
    static let current: SiteConfig = load()

    private static func load() -> SiteConfig {
        let path = Host.environment("SASLDB_CONFIG") ?? defaultPath
        guard let text = try? InputFile.read(path) else { return SiteConfig(values: CyrusConfig(), path: nil) }
        guard let parsed = try? CyrusConfig(parsing: text) else {
            Output.error("sasldb: \(path): a line is not of the form key: value; the file is ignored\n")
            return SiteConfig(values: CyrusConfig(), path: nil)
        }
        return SiteConfig(values: parsed, path: path)
    }

    /// The secret policy the file asks for, or `nil` when it says nothing about secrets.
    func policy() throws -> SecretPolicy? {
        var policy: SecretPolicy?
        if values.isOn("no_plaintext") { policy = .noPlaintext }
        if let list = values["secrets"] { policy = try SecretPolicy(parsingList: list) }
        if let count = values["scram_iteration_counter"] {
            guard let iterations = Int(count) else {
                throw SASLDBError.invalidValue("\(path ?? "config"): scram_iteration_counter must be a number")
            }
            policy = policy ?? .cyrusDefault
            policy?.scramIterations = iterations
        }
        return policy
    }
}

extension SecretPolicy {
    /// Parses a comma-separated list of secret names: plain, cram-md5, digest-md5, scram-sha-1, scram-sha-256.
    init(parsingList list: String) throws {
        self.init(plaintext: false)
        for name in list.split(separator: ",").map({ $0.trimmingCharacters(" ").lowercased() }) {
            switch name {
            case "plain", "plaintext", "userpassword": plaintext = true
            case "cram-md5": cramMD5 = true
            case "digest-md5": digestMD5 = true
            case "scram-sha-1", "scram-sha-256":
                guard scram == nil else {
                    throw SASLDBError.invalidValue("sasldb holds one SCRAM verifier per user: choose one SCRAM hash")
                }
                scram = name == "scram-sha-1" ? .sha1 : .sha256
            default:
                throw SASLDBError.invalidValue(
                    "unknown secret '\(name)' (use plain, cram-md5, digest-md5, scram-sha-1, scram-sha-256)"
                )
            }
        }
    }
}
