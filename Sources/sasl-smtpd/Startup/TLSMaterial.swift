import SMTPSubmission
import ServerKit

#if canImport(Glibc)
import Glibc
#endif

/// Reading the certificate and key the way the daemon trusts them, at startup (as root) and on SIGHUP.
enum TLSMaterial {
    /// Reads the certificate and key of `configuration`, refusing a key open to others, and returns the server's TLS
    /// configuration with warnings about the certificate (a name that is not `hostname`, a close expiry).
    ///
    /// With a `reader` (a daemon that has dropped root), the root reader reads the files it was started with; files
    /// that a reload renamed are read by the daemon itself, as its user.
    static func load(
        _ configuration: DaemonConfiguration,
        keyOwners: Set<uid_t>,
        reader: TLSReader? = nil
    ) throws(ConfigurationError) -> (ServerTLSConfiguration, [String]) {
        var certificate: [UInt8]
        var key: [UInt8]
        if let reader, reader.reads(configuration) {
            (certificate, key) = try reader.read()
        } else {
            certificate = try FileChecks.readCertificate(configuration.tlsCertificate)
            key = try FileChecks.readPrivateKey(configuration.tlsKey, allowedOwners: keyOwners)
        }
        defer { key.overwriteWithZeros() }
        let warnings = try certificateWarnings(certificate, configuration: configuration)
        return (configuration.tlsConfiguration(certificateChain: certificate, privateKey: key), warnings)
    }

    /// Warnings about the leaf certificate: names and expiry. An expired certificate is an error.
    static func certificateWarnings(
        _ pem: [UInt8],
        configuration: DaemonConfiguration
    ) throws(ConfigurationError) -> [String] {
        let names = try CertificateNames(pem: pem)
        var warnings: [String] = []
        if !names.names(configuration.hostname) {
            warnings.append(
                "tls_certificate \(configuration.tlsCertificate) does not name hostname \(configuration.hostname) "
                    + "(it names \(names.summary)): clients that check it will refuse the connection"
            )
        }
        let now = Int(time(nil))
        if names.notValidAfter < now {
            throw ConfigurationError("tls_certificate \(configuration.tlsCertificate) has expired")
        }
        if names.notValidAfter < now + 14 * 86400 {
            let days = (names.notValidAfter - now) / 86400
            warnings.append("tls_certificate \(configuration.tlsCertificate) expires in \(days) days")
        }
        return warnings
    }

    /// The owners a key may have: root, and the daemon's user (so it can read a renewed key after dropping root).
    static func keyOwners(identity: RunIdentity?) -> Set<uid_t> {
        var owners: Set<uid_t> = [0, geteuid()]
        if let identity { owners.insert(identity.uid) }
        return owners
    }
}
