import Foundation
import ServerKitTestSupport

/// A private Postfix that takes mail on its loopback port and relays all of it through `relayhost`, the server under
/// test, authenticating with `smtp_sasl_auth_enable`.
extension PostfixInstance {
    /// What Postfix's client authenticates with, and how.
    struct Client: Sendable {
        var login: String
        var password: String
        /// `smtp_sasl_mechanism_filter`: the one mechanism Postfix may choose, so a test knows which one ran.
        var mechanism: String
        /// `hash` (a Berkeley DB file made by `postmap`) or `texthash` (the text file itself).
        var mapType: String
    }

    /// The name the test certificate carries and the server greets with; Postfix must find it in the certificate.
    static let serverCertificateName = "mail.example.org"

    /// Writes the configuration of a Postfix relaying through `[127.0.0.1]:relayPort` and starts it.
    ///
    /// - Parameters:
    ///   - relayPort: The STARTTLS submission port of the server under test.
    ///   - caFile: The certificate that signs the server's certificate (the self-signed one itself).
    ///   - client: The login, password and mechanism Postfix uses.
    ///   - extraServices: `master.cf` lines added to the instance's own (a test's second `smtpd`).
    ///   - register: Called with the instance before anything can fail, to schedule its ``stop()``.
    static func start(
        relayPort: Int,
        caFile: String,
        client: Client,
        extraServices: String = "",
        register: (PostfixInstance) -> Void
    ) async throws -> PostfixInstance {
        let relayhost = "[127.0.0.1]:\(relayPort)"
        let passwordMap = "etc/sasl_passwd"
        let mainCF = """
            smtpd_relay_restrictions = permit_mynetworks, reject
            relayhost = \(relayhost)
            smtp_tls_security_level = secure
            smtp_tls_CAfile = \(caFile)
            # The nexthop is the address 127.0.0.1, which Postfix never matches against IP SANs: name the host.
            smtp_tls_secure_cert_match = \(Self.serverCertificateName)
            smtp_tls_mandatory_protocols = >=TLSv1.2
            smtp_tls_loglevel = 1
            smtp_sasl_auth_enable = yes
            smtp_sasl_password_maps = \(client.mapType):$config_directory/sasl_passwd
            smtp_sasl_mechanism_filter = \(client.mechanism.lowercased())
            # The default adds noplaintext, which would rule PLAIN out even inside TLS.
            smtp_sasl_security_options = noanonymous
            smtp_sasl_tls_security_options = noanonymous

            """
        return try await start(
            mainCF: mainCF,
            masterCF: extraServices,
            prepare: { instance in
                // The smtp client opens the map as root before dropping privileges, so it can stay private.
                let path = instance.directory.appendingPathComponent(passwordMap).path
                let entry = "\(relayhost) \(client.login):\(client.password)\n"
                guard
                    FileManager.default.createFile(
                        atPath: path,
                        contents: Data(entry.utf8),
                        attributes: [.posixPermissions: 0o600]
                    )
                else { throw TestSupportError("cannot write \(path)") }
                if client.mapType == "hash" {
                    try await instance.run("postmap", ["-c", instance.configDirectory, "hash:\(path)"])
                }
            },
            register: register
        )
    }
}
