import PasswordChange
import SASLDB

extension PasswordChanger {
    /// A changer over the database at `path` under the site's policies (secrets, and the `password_*` settings the
    /// daemon reads too), auditing to syslog.
    ///
    /// - Throws: ``PasswdFailure/configuration(_:)`` when a setting of the site configuration is wrong.
    static func site(path: String, defaultRealm: String) throws(PasswdFailure) -> PasswordChanger {
        let secrets: SecretPolicy
        let policy: PasswordPolicy
        do {
            secrets = try SiteConfig.current.policy() ?? .cyrusDefault
        } catch {
            throw .configuration("\(error)")
        }
        do {
            policy = try PasswordPolicy(setting: { SiteConfig.current.values[$0] })
        } catch {
            throw .configuration("\(SiteConfig.current.path ?? SiteConfig.defaultPath): \(error)")
        }
        return PasswordChanger(
            store: CredentialStore(backend: FileBackend(path: path), policy: secrets),
            defaultRealm: defaultRealm,
            policy: policy,
            audit: SystemLog.record
        )
    }
}
