import SMTPSubmission
import ServerKit

#if canImport(Glibc)
import Glibc
#endif

/// `--check-config`: everything the daemon would check before serving, without binding or switching user, including
/// what the user it will serve as must read and write; prints the effective configuration on standard output and each
/// problem on standard error.
struct ConfigurationCheck {
    let configuration: DaemonConfiguration
    let warnings: [String]

    /// Runs the checks; returns the exit status (0: the daemon would start; 1: it would not).
    func run() -> Int32 {
        var errors: [String] = []
        var warnings = warnings
        func attempt(_ body: () throws(ConfigurationError) -> Void) {
            do throws(ConfigurationError) {
                try body()
            } catch {
                errors.append(error.message)
            }
        }

        var identity: RunIdentity?
        if !configuration.user.isEmpty {
            attempt { () throws(ConfigurationError) in
                identity = try RunIdentity(user: configuration.user, group: configuration.group)
            }
        } else if geteuid() == 0 {
            warnings.append("user is empty: the daemon refuses to serve as root (except with --demo)")
        }
        if configuration.needsTLS {
            attempt { () throws(ConfigurationError) in
                let certificate = try FileChecks.readCertificate(configuration.tlsCertificate)
                warnings += try TLSMaterial.certificateWarnings(certificate, configuration: configuration)
            }
            attempt { () throws(ConfigurationError) in
                let certificate = try FileChecks.readCertificate(configuration.tlsCertificate)
                var key = try FileChecks.readPrivateKey(
                    configuration.tlsKey,
                    allowedOwners: TLSMaterial.keyOwners(identity: identity)
                )
                defer { key.overwriteWithZeros() }
                do throws(TLSMaterialError) {
                    _ = try ServerTLSMaterial(
                        configuration.tlsConfiguration(certificateChain: certificate, privateKey: key)
                    )
                } catch {
                    throw ConfigurationError("\(error)")
                }
            }
        }
        attempt { () throws(ConfigurationError) in
            if let warning = try FileChecks.checkDatabase(configuration.sasldbPath) { warnings.append(warning) }
        }
        if case .postgres(let location) = configuration.store.location {
            attempt { () throws(ConfigurationError) in try Self.checkPostgres(location) }
        }
        attempt { () throws(ConfigurationError) in _ = try configuration.loadSenderLoginMap() }
        attempt { () throws(ConfigurationError) in
            _ = try configuration.loadRelaySecurity(secretOwners: TLSMaterial.keyOwners(identity: identity))
        }
        if case .sendmail(let path) = configuration.sink, !FileChecks.isExecutable(path) {
            errors.append("sink \(configuration.sink): \(path) is not an executable file")
        }
        errors += Self.userProblems(configuration, identity: identity)
        warnings += Self.pamWarnings(configuration, identity: identity)

        print(configuration.effectiveText)
        // As comments, so the output still reads as a configuration file.
        print("# the store, and where each setting came from:")
        for line in configuration.store.report(hostName: configuration.hostname) { print("# " + line) }
        for warning in warnings { printError("warning: " + warning) }
        for error in errors { printError("error: " + error) }
        if errors.isEmpty {
            printError("configuration OK")
            return 0
        }
        return 1
    }
}

/// Writes `sasl-smtpd: MESSAGE` to standard error.
func printError(_ message: String) {
    var bytes = Array(("sasl-smtpd: " + message + "\n").utf8)
    bytes.withUnsafeMutableBytes { raw in _ = write(2, raw.baseAddress, raw.count) }
}
