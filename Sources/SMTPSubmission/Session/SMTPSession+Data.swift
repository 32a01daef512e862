// The message text after DATA, the end of a message (DATA or BDAT), and the sink's answer: 250 only once the sink
// holds the message.
extension SMTPSession {
    /// The bytes of the message being received (DATA or BDAT) that the session holds now, for a server that bounds
    /// them across its connections.
    public var heldMessageBytes: Int {
        dataReceiver?.message.count ?? transaction?.chunks?.message.count ?? 0
    }

    /// The server may hold no more message bytes: the message being received is dropped now and refused with 452
    /// 4.3.1 at its end (the client may try again later); its remaining text is only counted past.
    public mutating func messageStorageExhausted() {
        dataReceiver?.storageExhausted()
        transaction?.chunks?.storageExhausted()
    }

    /// One line of message text.
    mutating func receiveDataLine(_ line: [UInt8]) -> [SMTPSessionAction] {
        // Mutated in place through the optional, so the message buffer is never copied.
        guard dataReceiver?.receive(line) == true else { return [] }
        return endOfData()
    }

    /// The final dot: refuse the message, or hand it to the sink.
    private mutating func endOfData() -> [SMTPSessionAction] {
        guard let receiver = dataReceiver else {
            phase = .greeted
            return [ignoredEvent("endOfData")]
        }
        dataReceiver = nil
        return endOfMessage(receiver.message, size: receiver.size, refusal: receiver.refusal)
    }

    /// The whole message arrived, after DATA or BDAT: refuse it (the transaction ends), or hand it to the sink.
    mutating func endOfMessage(_ data: [UInt8], size: Int, refusal: MessageRefusal?) -> [SMTPSessionAction] {
        guard let transaction, let identity = authenticatedIdentity else {
            phase = .greeted
            return [ignoredEvent("endOfMessage")]
        }
        var fields = [
            "message.id": currentMessageID,
            "message.size": String(size),
            "message.recipients": String(transaction.recipients.count),
            "mail.from": SMTPLogText.clean(transaction.sender?.description ?? "<>"),
            "sasl.user": SMTPLogText.clean(identity.user.description),
        ]
        if let refusal {
            self.transaction = nil
            phase = .greeted
            fields["smtp.reason"] = refusal.logReason
            return [event(.notice, "message refused", fields), .send(refusal.reply)]
        }
        var parameters: [String: String] = [:]
        if let body = transaction.parameters.body { parameters["BODY"] = body.rawValue }
        if transaction.parameters.smtpUTF8 { parameters["SMTPUTF8"] = "" }
        let message = SubmittedMessage(
            sender: transaction.sender?.description ?? "",
            recipients: transaction.recipients.map(\.description),
            authenticatedUser: identity.user.description,
            data: data,
            id: currentMessageID,
            parameters: parameters
        )
        deliveryLogFields = fields
        phase = .awaitingDelivery
        return [.deliver(message)]
    }

    /// The sink's answer to ``SMTPSessionAction/deliver(_:)``: 250 2.0.0 when it holds the message, 451 4.3.0 for a
    /// temporary failure, 554 5.0.0 for a permanent one. The sink's reason goes to the log, not to the client.
    public mutating func deliveryCompleted(_ result: Result<Void, MessageSinkError>) -> [SMTPSessionAction] {
        guard phase == .awaitingDelivery else { return [ignoredEvent("deliveryCompleted")] }
        phase = .greeted
        transaction = nil
        var fields = deliveryLogFields ?? [:]
        deliveryLogFields = nil
        switch result {
        case .success:
            return [event(.info, "message accepted", fields), .send(.queued(currentMessageID))]
        case .failure(.temporary(let reason)):
            fields["smtp.reason"] = SMTPLogText.clean(reason)
            return [event(.warning, "message deferred", fields), .send(.deliveryFailedTemporarily)]
        case .failure(.permanent(let reason)):
            fields["smtp.reason"] = SMTPLogText.clean(reason)
            return [event(.warning, "message rejected", fields), .send(.deliveryFailedPermanently)]
        }
    }
}
