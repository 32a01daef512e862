import AuthService
import ServerKit

#if canImport(Glibc)
import Glibc
#endif

extension DaemonRunner {
    /// The saslauthd server, `nil` when `saslauthd_socket` is empty; it counts failures in the SMTP server's trackers
    /// (per client address and per account), so a client is counted once whichever way it tries.
    ///
    /// Each socket's directory is created when missing, as Debian's saslauthd has its `/run/saslauthd`: owned by the
    /// daemon's user (so it can remove its socket when it stops), group `saslauthd_socket_group`, mode
    /// `saslauthd_socket_mode` (0710: members of the group, Postfix's user among them, may reach the socket, others
    /// may not). An existing directory is left as it is.
    func makeSaslauthdServer(
        identity: RunIdentity?,
        failures: AuthFailureTracker,
        accountFailures: AuthFailureTracker
    ) throws(ConfigurationError) -> SaslauthdServer? {
        guard configuration.saslauthdEnabled else { return nil }
        let group = try saslauthdGroup()
        for path in configuration.saslauthdSocket {
            try DaemonDirectory.prepare(
                FileChecks.directoryName(of: path),
                mode: mode_t(configuration.saslauthdSocketMode),
                for: identity,
                group: group
            )
        }
        do throws(SaslauthdServerError) {
            return try SaslauthdServer(
                configuration: configuration.saslauthdConfiguration,
                authenticator: SaslauthdAuthenticator(
                    context: configuration.saslauthdContext,
                    failures: failures,
                    accountFailures: accountFailures
                ),
                logger: logger
            )
        } catch {
            throw ConfigurationError("\(error)")
        }
    }

    /// The gid of `saslauthd_socket_group`, `nil` when it is empty (the daemon's group then).
    private func saslauthdGroup() throws(ConfigurationError) -> gid_t? {
        let name = configuration.saslauthdSocketGroup
        guard !name.isEmpty else { return nil }
        guard let entry = getgrnam(name) ?? gid_t(name).flatMap({ getgrgid($0) }) else {
            throw ConfigurationError("saslauthd_socket_group \(name): no such group")
        }
        return entry.pointee.gr_gid
    }
}
