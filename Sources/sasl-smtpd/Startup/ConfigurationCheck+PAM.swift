/// The checks `--check-config` makes when a listener checks passwords with PAM: warnings only, since what the stack
/// needs depends on its modules.
extension ConfigurationCheck {
    /// The stack `pam_service` names must exist, and `pam_unix`, Debian's default, needs to read `/etc/shadow` as the
    /// daemon's user.
    static func pamWarnings(_ configuration: DaemonConfiguration, identity: RunIdentity?) -> [String] {
        guard configuration.usesPAM else { return [] }
        var warnings: [String] = []
        let stack = "/etc/pam.d/" + configuration.passwordSources.pamService
        if !FileChecks.exists(stack) {
            warnings.append(
                "pam_service: \(stack) does not exist, so PAM runs its 'other' stack, which on Debian refuses everyone"
            )
        }
        let access = AccessCheck(identity: identity)
        if let problem = access.problem("/etc/shadow", need: .read, what: "password_source pam:") {
            warnings.append(
                problem + ", so pam_unix refuses every system password (its helper unix_chkpwd checks only the "
                    + "caller's own): adduser \(access.userName) shadow, or stack a module that needs no local "
                    + "privilege (sasl-smtpd(8), section PAM)"
            )
        }
        return warnings
    }
}
