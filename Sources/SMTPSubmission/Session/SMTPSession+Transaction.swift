import SASLDB
import SASLMechanisms

// MAIL, RCPT and DATA: the envelope of a message (BDAT is in SMTPSession+Chunking). Nothing is accepted before AUTH
// (no open relay), and the sender must be one the authenticated user may use.
extension SMTPSession {
    /// `MAIL FROM:<sender> [parameters]`.
    mutating func mail(from sender: SMTPMailbox?, parameters: SMTPMailParameters) -> [SMTPSessionAction] {
        guard phase != .connected else { return reject(.badSequence("Send EHLO first")) }
        guard phase == .greeted else { return reject(.badSequence("Nested MAIL command")) }
        guard !mustStartTLSFirst else { return reject(.mustStartTLS) }
        guard let identity = authenticatedIdentity else { return reject(.authenticationRequired) }
        let limits = configuration.limits
        guard messagesStarted < limits.messagesPerConnection else {
            return closeConnection(
                with: .tooManyMessages(host: configuration.hostName),
                level: .info,
                reason: "messages"
            )
        }
        guard saidEHLO || parameters.isEmpty else { return reject(.parametersNeedEHLO) }
        if let size = parameters.size, size > limits.messageSize { return reject(.messageTooBig) }
        if let sender, !sender.isASCII, !parameters.smtpUTF8 { return reject(.nonASCIIAddressNeedsSMTPUTF8) }
        guard configuration.senderPolicy.permits(sender, for: effectiveUser(of: identity)) else {
            let user = identity.user.description
            let log = event(
                .notice,
                "sender refused",
                ["sasl.user": SMTPLogText.clean(user), "mail.from": SMTPLogText.clean(sender?.description ?? "<>")]
            )
            return [log] + reject(sender == nil ? .nullSenderNotAllowed : .senderNotOwned(by: user))
        }
        transaction = MailTransaction(sender: sender, parameters: parameters)
        phase = .inTransaction
        return [.send(.senderOk)]
    }

    /// `RCPT TO:<recipient>`.
    mutating func rcpt(to recipient: SMTPForwardPath) -> [SMTPSessionAction] {
        guard phase == .inTransaction, var transaction else { return reject(.badSequence("Need MAIL command")) }
        guard transaction.recipients.count < configuration.limits.recipientsPerMessage else {
            // Not counted as an error: a client with a long list sends the rest in a second message, as Postfix's
            // recipient overshoot allows.
            return [.send(.tooManyRecipients)]
        }
        if !recipient.isASCII, !transaction.parameters.smtpUTF8 { return reject(.nonASCIIAddressNeedsSMTPUTF8) }
        transaction.recipients.append(recipient)
        self.transaction = transaction
        return [.send(.recipientOk)]
    }

    /// `DATA`: 354, then message text until the final dot.
    mutating func data() -> [SMTPSessionAction] {
        guard phase == .inTransaction, let transaction else { return reject(.badSequence("Need MAIL command")) }
        guard !transaction.recipients.isEmpty else { return reject(.badSequence("Need RCPT command")) }
        guard transaction.chunks == nil else { return reject(.badSequence("DATA after BDAT in one transaction")) }
        dataReceiver = MessageDataReceiver(header: startMessage(), sizeLimit: configuration.limits.messageSize)
        phase = .inData
        return [.send(.startMailInput)]
    }

    /// Counts a new message of the transaction and returns the `Received:` header that goes in front of it (empty
    /// when it is turned off).
    mutating func startMessage() -> [UInt8] {
        messagesStarted += 1
        let options = configuration.receivedHeader
        guard options.isEnabled, let transaction else { return [] }
        return ReceivedHeader(
            helloName: helloName ?? "unknown",
            clientAddress: clientAddress,
            hostName: configuration.hostName,
            software: options.software,
            authenticatedUser: options.includesAuthenticatedSender ? authenticatedUser?.description : nil,
            protocolName: ReceivedHeader.protocolName(
                smtpUTF8: transaction.parameters.smtpUTF8,
                tls: isTLS,
                authenticated: authenticatedIdentity != nil
            ),
            id: currentMessageID,
            recipient: transaction.recipients.count == 1 ? transaction.recipients[0] : nil,
            date: configuration.clock(),
            includesClientAddress: options.includesClientAddress
        ).bytes
    }

    /// The id of the message of the current (or last) DATA: the session id and the message's number in it.
    var currentMessageID: String { "\(sessionID)-\(messagesStarted)" }

    /// The user whose senders are checked: the authorization identity the client asked to act as, when one was
    /// granted, else the user who logged in.
    func effectiveUser(of identity: AuthenticatedIdentity) -> UserID {
        guard let authorizationID = identity.authorizationID,
            let user = try? UserID(parsing: authorizationID, defaultRealm: configuration.saslContext.defaultRealm)
        else { return identity.user }
        return user
    }
}
