import SASLDB

extension DaemonConfiguration {
    /// Checks what single keys cannot: listeners, mechanisms and TLS together. Returns warnings (the configuration
    /// works but is probably not what was meant).
    ///
    /// - Throws: ``ConfigurationError`` for a combination that cannot work.
    func validate() throws(ConfigurationError) -> [String] {
        var warnings: [String] = []
        let listeners = submissionListen + smtpsListen + plainListen
        guard !listeners.isEmpty else {
            throw ConfigurationError("no listener: set submission_listen, smtps_listen or plain_listen")
        }
        var seen: Set<String> = []
        for address in listeners + poppassdListen + poppassdTLSListen where address.port != 0 {
            guard seen.insert(address.description).inserted else {
                throw ConfigurationError("\(address) is listed twice among the listeners")
            }
        }
        for address in poppassdListen where !address.isLoopback {
            throw ConfigurationError(
                "poppassd_listen \(address) is not a loopback address: passwords would cross the network in the clear; "
                    + "use poppassd_tls_listen for it"
            )
        }
        _ = try passwordPolicy()
        try validateSaslauthd()
        guard messageMemoryLimit >= messageSizeLimit else {
            throw ConfigurationError(
                "message_memory_limit (\(messageMemoryLimit)) is below message_size_limit (\(messageSizeLimit)): "
                    + "no message of the largest size could ever be accepted"
            )
        }
        guard !mechanisms.isEmpty else { throw ConfigurationError("mechanisms: at least one is needed") }
        for name in mechanismsWithoutTLS where !mechanisms.contains(name) {
            throw ConfigurationError("mechanisms_without_tls: \(name) is not in mechanisms")
        }
        if !mechanismsWithoutTLS.isEmpty && requireTLS {
            throw ConfigurationError(
                "mechanisms_without_tls has no effect while require_tls = yes: set require_tls = no, or empty it"
            )
        }
        if !plainListen.isEmpty && (requireTLS || mechanismsWithoutTLS.isEmpty) {
            throw ConfigurationError(
                "plain_listen serves no one without require_tls = no and mechanisms_without_tls (for example CRAM-MD5)"
            )
        }
        for address in plainListen where !address.isLoopback {
            warnings.append("plain_listen \(address) is not a loopback address: logins cross the network unencrypted")
        }
        for name in mechanismsWithoutTLS where name == "PLAIN" || name == "LOGIN" {
            warnings.append("mechanisms_without_tls lets \(name) send passwords in the clear")
        }
        if scramIterations < SecretPolicy.defaultSCRAMIterations {
            warnings.append(
                "scram_iterations = \(scramIterations) (\(store.origins[.scramIterations] ?? "default")) is below the "
                    + "\(SecretPolicy.defaultSCRAMIterations) RFC 7677 asks for at least"
            )
        }
        warnings += try validateRelay()
        warnings += try validatePasswordSources()
        if allowAnySender {
            warnings.append("allow_any_sender = yes: any user may send as anyone")
        }
        return warnings
    }
}
