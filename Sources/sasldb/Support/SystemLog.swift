import CSystemShims
import PasswordChange

#if canImport(Glibc)
import Glibc
#endif

/// Sends password-change audit records to syslog (facility authpriv, ident `sasldb`), where administrators look for
/// them; the user is told the outcome, not the record.
enum SystemLog {
    /// Logs `audit`: a change at notice level, a refusal at warning level.
    @Sendable static func record(_ audit: PasswordChangeAudit) {
        let priority = audit.outcome == .changed ? LOG_NOTICE : LOG_WARNING
        sasldb_syslog_authpriv(priority, audit.description)
    }
}
