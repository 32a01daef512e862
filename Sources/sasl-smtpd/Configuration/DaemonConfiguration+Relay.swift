import SASLClient
import SMTPSubmission
import ServerKit

#if canImport(Glibc)
import Glibc
#endif

extension DaemonConfiguration {
    /// The next hop of `sink = smtp:` or `lmtp:`; `nil` for the other sinks.
    var relayHost: String? {
        switch sink {
        case .smtp(let host, _), .lmtp(let host, _): return host
        case .maildir, .sendmail: return nil
        }
    }

    /// Whether the relay sink starts TLS: `relay_tls`, with `auto` meaning "unless the next hop is loopback".
    var relayUsesTLS: Bool {
        guard let host = relayHost else { return false }
        switch relayTLS {
        case .required: return true
        case .none: return false
        case .auto: return !isLoopbackHost(host)
        }
    }

    /// Checks the relay keys against `sink`: a plain relay off the machine is an error; keys that have no effect are
    /// warnings.
    func validateRelay() throws(ConfigurationError) -> [String] {
        let tlsKeys = [("relay_ca_file", relayCAFile), ("relay_tls_name", relayTLSName)].filter { !$0.1.isEmpty }
        guard let host = relayHost else {
            return (tlsKeys + [("relay_auth_file", relayAuthFile)]).filter { !$0.1.isEmpty }.map {
                "\($0.0) has no effect: sink \(sink) is not smtp: or lmtp:"
            }
        }
        if relayTLS == .none && !isLoopbackHost(host) {
            throw ConfigurationError(
                "relay_tls = none: the next hop \(host) of sink \(sink) is not a loopback address, so mail and "
                    + "credentials would cross the network in the clear; set relay_tls = required"
            )
        }
        if !relayUsesTLS {
            return tlsKeys.map { "\($0.0) has no effect: the relay to loopback \(host) stays plain (relay_tls)" }
        }
        return []
    }

    /// Reads what the relay sink needs and only the daemon may see, as the daemon reads its TLS key: the CA file
    /// (public) and the secrets file (refused when others can read it or anyone but `secretOwners` can write it).
    /// Both `nil` for the other sinks.
    func loadRelaySecurity(
        secretOwners: Set<uid_t>
    ) throws(ConfigurationError) -> (tls: SMTPClientTLS?, credentials: SASLClientCredentials?) {
        guard relayHost != nil else { return (nil, nil) }
        var tls: SMTPClientTLS?
        if relayUsesTLS {
            let trusted = relayCAFile.isEmpty ? nil : try FileChecks.readCertificate(relayCAFile, key: "relay_ca_file")
            do {
                tls = try SMTPClientTLS.verifying(
                    trustedCertificatesPEM: trusted,
                    serverHostname: relayTLSName.isEmpty ? nil : relayTLSName
                )
            } catch {
                throw ConfigurationError("relay_ca_file \(relayCAFile): \(error)")
            }
        }
        var credentials: SASLClientCredentials?
        if !relayAuthFile.isEmpty {
            var bytes = try FileChecks.readSecretsFile(
                relayAuthFile,
                key: "relay_auth_file",
                allowedOwners: secretOwners
            )
            defer { bytes.overwriteWithZeros() }
            credentials = try RelayCredentials.parse(bytes, path: relayAuthFile)
        }
        return (tls, credentials)
    }
}
