import SASLMechanisms

// EHLO, HELO and STARTTLS: what the client is told it may do, and the TLS upgrade that starts the session anew.
extension SMTPSession {
    /// Whether the listener requires TLS and the connection does not have it yet.
    var mustStartTLSFirst: Bool { configuration.requiresTLS && !isTLS }

    /// The mechanisms AUTH may use now: none before TLS on a listener that requires it, none after a successful AUTH,
    /// and the `-PLUS` variants only when the connection has channel bindings to check.
    var offeredMechanisms: [String] {
        guard !mustStartTLSFirst, authenticatedIdentity == nil else { return [] }
        // With channel bindings every mechanism can be offered: no name is looked up (the EHLO after STARTTLS).
        return configuration.mechanisms.offered(overTLS: isTLS).filter {
            !channelBindings.isEmpty || !(SASLMechanismFactory.mechanism(named: $0)?.needsChannelBinding ?? false)
        }
    }

    /// EHLO or HELO: a new start for the envelope (RFC 5321 section 4.1.4), authentication kept.
    mutating func hello(_ name: String, extended: Bool) -> [SMTPSessionAction] {
        helloName = name
        saidEHLO = extended
        transaction = nil
        phase = .greeted
        let host = configuration.hostName
        guard extended else { return [.send(SMTPReply(250, nil, host))] }
        var lines = [host, "PIPELINING", "SIZE \(configuration.limits.messageSize)", "8BITMIME", "SMTPUTF8"]
        lines.append("ENHANCEDSTATUSCODES")
        if configuration.offersChunking { lines.append("CHUNKING") }
        if configuration.offersStartTLS, !isTLS { lines.append("STARTTLS") }
        let mechanisms = offeredMechanisms
        if !mechanisms.isEmpty {
            lines.append("AUTH " + mechanisms.joined(separator: " "))
            if configuration.legacyAuthEquals { lines.append("AUTH=" + mechanisms.joined(separator: " ")) }
        }
        return [.send(SMTPReply(250, nil, lines))]
    }

    /// STARTTLS (RFC 3207): allowed once, outside a mail transaction, after EHLO or straight after the greeting.
    ///
    /// RFC 3207 has the client learn of STARTTLS from EHLO, but GNU SASL's `gsasl --smtp` sends it before any EHLO,
    /// and Postfix accepts that: nothing said before TLS counts afterwards anyway, since the session starts anew.
    /// After HELO it is still refused, as HELO does not offer it.
    mutating func startTLS() -> [SMTPSessionAction] {
        guard !isTLS else { return reject(.badSequence("TLS already active")) }
        guard configuration.offersStartTLS else { return reject(.tlsNotAvailable) }
        guard phase == .connected || (phase == .greeted && saidEHLO) else {
            return reject(.badSequence("Send EHLO first"))
        }
        phase = .awaitingTLS
        return [.send(.readyToStartTLS), .startTLS]
    }

    /// The TLS handshake after STARTTLS succeeded: the session starts again from scratch, as RFC 3207 section 4.2
    /// requires. The client must send EHLO again and authenticate again; nothing it sent before counts. The count of
    /// failed AUTH attempts is kept, so STARTTLS cannot reset the guessing limit.
    ///
    /// - Parameter channelBindings: the connection's TLS channel bindings, for SCRAM `-PLUS`.
    public mutating func tlsEstablished(channelBindings: [SCRAMChannelBinding]) -> [SMTPSessionAction] {
        guard phase == .awaitingTLS else { return [ignoredEvent("tlsEstablished")] }
        isTLS = true
        self.channelBindings = channelBindings
        helloName = nil
        saidEHLO = false
        authenticatedIdentity = nil
        transaction = nil
        exchange = nil
        phase = .connected
        return [event(.info, "tls established", [:])]
    }
}
