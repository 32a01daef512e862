import AuthService
import ServerKit

extension DaemonRunner {
    /// The Dovecot auth server, `nil` when neither `dovecot_auth_socket` nor `dovecot_auth_listen` is set. It counts
    /// failures in the SMTP server's trackers (`clientFailures`, `accountFailures`), so a client is counted once
    /// whichever door it knocks at. A socket directory that does not exist is created (0755) for the daemon's user
    /// while still root; one that exists (Postfix's `private/`) is left as it is.
    func makeDovecotAuthServer(
        identity: RunIdentity?,
        clientFailures: AuthFailureTracker,
        accountFailures: AuthFailureTracker
    ) throws(ConfigurationError) -> DovecotAuthServer? {
        guard configuration.dovecotAuth.enabled else { return nil }
        if !configuration.dovecotAuth.socket.isEmpty {
            try DaemonDirectory.prepare(
                FileChecks.directoryName(of: configuration.dovecotAuth.socket),
                mode: 0o755,
                for: identity
            )
        }
        let serverConfiguration = try configuration.dovecotServerConfiguration()
        do throws(DovecotAuthError) {
            return try DovecotAuthServer(
                configuration: serverConfiguration,
                clientFailures: clientFailures,
                accountFailures: accountFailures,
                logger: logger
            )
        } catch {
            throw ConfigurationError("\(error)")
        }
    }
}
