import SASLMechanisms

// AUTH (RFC 4954): the command is checked here, the mechanism runs in the driver (it reads the store and may hash),
// and each outcome is logged once, without the password.
extension SMTPSession {
    /// `AUTH mechanism [initial-response]`.
    mutating func authenticate(_ name: String, initialResponse: String?) -> [SMTPSessionAction] {
        guard saidEHLO else { return reject(.badSequence("Send EHLO first")) }
        guard authenticatedIdentity == nil else { return reject(.badSequence("Already authenticated")) }
        guard phase == .greeted else { return reject(.badSequence("AUTH not permitted during a mail transaction")) }
        guard !mustStartTLSFirst else { return reject(.mustStartTLS) }
        guard configuration.mechanisms.enabled.contains(name),
            let mechanism = SASLMechanismFactory.make(
                name,
                context: configuration.saslContext,
                channelBindings: channelBindings,
                scramIterations: configuration.scramIterations,
                digestHosts: configuration.digestHosts
            )
        else { return reject(.unrecognizedAuthenticationType) }
        guard offeredMechanisms.contains(name) else {
            // Enabled but not offered: either it may not run in the clear, or it is a -PLUS variant without bindings.
            return reject(isTLS ? .unrecognizedAuthenticationType : .encryptionRequired)
        }
        var response: [UInt8]?
        if let initialResponse {
            // `=` is the empty initial response (RFC 4954 section 4), which differs from no initial response.
            if initialResponse == "=" {
                response = []
            } else {
                guard let decoded = Base64Text.decode(initialResponse.utf8) else {
                    return reject(.cannotDecodeResponse)
                }
                response = decoded
            }
        }
        exchange = SASLExchange(mechanismName: name)
        phase = .awaitingSASLStep
        return [.runSASLStep(SASLStepRequest(mechanism: mechanism, response: response))]
    }

    /// A line after a 334 challenge: `*` cancels, anything else must be base64.
    mutating func receiveAuthenticationResponse(_ line: [UInt8]) -> [SMTPSessionAction] {
        guard var exchange, let mechanism = exchange.mechanism else {
            return abandonExchange(reply: .authenticationCancelled, result: "internal-error")
        }
        if line == [UInt8(ascii: "*")] { return cancelExchange() }
        guard let response = Base64Text.decode(line) else {
            return abandonExchange(reply: .cannotDecodeResponse, result: "bad-base64")
        }
        exchange.mechanism = nil
        self.exchange = exchange
        phase = .awaitingSASLStep
        return [.runSASLStep(SASLStepRequest(mechanism: mechanism, response: response))]
    }

    /// The driver ran the step asked for by ``SMTPSessionAction/runSASLStep(_:)``.
    ///
    /// A challenge is sent as `334 base64`; success answers 235 2.7.0; a failure answers 535 5.7.8 (500 5.5.6 for a
    /// message over the mechanism's bound, 454 4.7.0 when the store could not be read, 501 5.0.0 for a cancel), and
    /// a counted failure also asks the driver to record it and to pause, longer after each failure, and closes the
    /// connection with 421 4.7.0 after ``SMTPLimits/failedAuthPerConnection`` of them.
    ///
    /// - Parameters:
    ///   - mechanism: the mechanism after the step ran (it carries the exchange's state).
    ///   - step: what the step returned.
    public mutating func saslStepCompleted(mechanism: any SASLServerMechanism, step: SASLStep) -> [SMTPSessionAction] {
        guard phase == .awaitingSASLStep, exchange != nil else { return [ignoredEvent("saslStepCompleted")] }
        // Held until the exchange ends, also after the last step: it knows the login and holds the retry material.
        exchange?.mechanism = mechanism
        switch step {
        case .challenge(let challenge):
            phase = .authenticating
            return [.send(.challenge(challenge))]
        case .success(let identity):
            authenticatedIdentity = identity
            var fields = ["sasl.user": SMTPLogText.clean(identity.user.description)]
            if let authorizationID = identity.authorizationID {
                fields["sasl.authzid"] = SMTPLogText.clean(authorizationID)
            }
            let log = authenticationEvent(.info, result: "success", fields: fields)
            endExchange()
            return [log, .send(.authenticationSucceeded)]
        case .failure(let failure):
            return authenticationFailed(failure)
        }
    }

    private mutating func authenticationFailed(_ failure: SASLFailure) -> [SMTPSessionAction] {
        var fields: [String: String] = [:]
        if let login = exchange?.login { fields["sasl.user"] = SMTPLogText.clean(login) }
        let reply: SMTPReply
        switch failure {
        case .cancelled:
            return cancelExchange()
        case .temporary(let reason):
            fields["auth.reason"] = SMTPLogText.clean(reason)
            let log = authenticationEvent(.warning, result: "temporary-failure", fields: fields)
            endExchange()
            return [log, .send(.temporaryAuthenticationFailure)]
        case .tooLong(let limit):
            fields["auth.reason"] = "a message is longer than \(limit) bytes"
            reply = .authenticationLineTooLong
        case .malformed(let reason), .authenticationFailed(let reason), .authorizationDenied(let reason):
            fields["auth.reason"] = SMTPLogText.clean(reason)
            reply = .authenticationFailed
        }
        return countedFailure(reply: reply, result: "failure", fields: fields)
    }

    /// `*` to a challenge (RFC 4954: 501). An exchange that already read the user's secrets (SCRAM's first message:
    /// a lookup and, for a user stored with a plaintext, a PBKDF2) counts as a failed attempt, with the same pauses
    /// and limits, since "start, then cancel" would otherwise probe names and burn CPU for free; one cancelled before
    /// any lookup counts as an error.
    private mutating func cancelExchange() -> [SMTPSessionAction] {
        var fields: [String: String] = [:]
        if let login = exchange?.login { fields["sasl.user"] = SMTPLogText.clean(login) }
        guard exchange?.mechanism?.hasReadSecrets == true else {
            let log = authenticationEvent(.info, result: "cancelled", fields: fields)
            endExchange()
            return [log] + reject(.authenticationCancelled)
        }
        fields["auth.reason"] = "cancelled after the secrets were read"
        return countedFailure(reply: .authenticationCancelled, result: "cancelled", fields: fields)
    }

    /// A failed attempt: recorded for the client and the account it named, answered after a growing pause, and the
    /// connection closed after ``SMTPLimits/failedAuthPerConnection`` of them.
    private mutating func countedFailure(
        reply: SMTPReply,
        result: String,
        fields: [String: String]
    ) -> [SMTPSessionAction] {
        var fields = fields
        failedAuthentications += 1
        fields["auth.failures"] = String(failedAuthentications)
        let limits = configuration.limits
        // The account the login names (`authid@realm`), so failures against it are counted across addresses.
        let account = exchange?.login.flatMap { try? configuration.saslContext.user(forLogin: $0).description }
        var actions: [SMTPSessionAction] = [
            .recordAuthFailure(user: account, credential: exchange?.fingerprint),
            authenticationEvent(.notice, result: result, fields: fields),
            .pause(milliseconds: limits.authFailurePauseMilliseconds(afterFailure: failedAuthentications)),
            .send(reply),
        ]
        endExchange()
        if failedAuthentications >= limits.failedAuthPerConnection {
            actions += closeConnection(
                with: .tooManyAuthenticationFailures(host: configuration.hostName),
                level: .notice,
                reason: "authentication failures"
            )
        }
        return actions
    }

    /// Ends the exchange without a counted failure (cancel, bad base64, an overlong or broken line).
    mutating func abandonExchange(reply: SMTPReply, result: String) -> [SMTPSessionAction] {
        var fields: [String: String] = [:]
        if let login = exchange?.login { fields["sasl.user"] = SMTPLogText.clean(login) }
        let log = authenticationEvent(.info, result: result, fields: fields)
        endExchange()
        return [log, .send(reply)]
    }

    /// The one log event of an AUTH outcome: mechanism, result, TLS, and the caller's fields; never a password.
    private func authenticationEvent(
        _ level: SMTPLogEvent.Level,
        result: String,
        fields: [String: String]
    ) -> SMTPSessionAction {
        var metadata = fields
        metadata["sasl.mechanism"] = exchange?.mechanismName ?? "unknown"
        metadata["auth.result"] = result
        metadata["smtp.tls"] = isTLS ? "yes" : "no"
        return event(level, "auth", metadata)
    }

    private mutating func endExchange() {
        exchange?.erase()
        exchange = nil
        phase = .greeted
    }
}
