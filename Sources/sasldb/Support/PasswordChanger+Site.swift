import PasswordChange
import SASLDB

extension PasswordChanger {
    /// A changer over the store `configuration` names (its secrets and all) under the site's password policy (the
    /// `password_*` settings the daemon reads too), auditing to syslog.
    ///
    /// - Throws: ``PasswdFailure/configuration(_:)`` when a password setting of the site configuration is wrong.
    static func site(_ configuration: StoreConfiguration, defaultRealm: String) throws(PasswdFailure) -> PasswordChanger
    {
        let site = SiteConfig.current.file
        let policy: PasswordPolicy
        do {
            policy = try PasswordPolicy(setting: { site[$0] })
        } catch {
            throw .configuration("\(site.source ?? SiteConfiguration.defaultPath): \(error)")
        }
        return PasswordChanger(
            store: StoreFactory.makeStore(configuration),
            defaultRealm: defaultRealm,
            policy: policy,
            audit: SystemLog.record
        )
    }
}
