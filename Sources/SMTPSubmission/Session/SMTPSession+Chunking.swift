// BDAT (RFC 3030 CHUNKING): the message in chunks of announced size, read as raw octets by the driver.
extension SMTPSession {
    /// How many octets the driver must read next as raw BDAT chunk data and pass to ``receiveChunkOctets(_:)``;
    /// `0` while it frames lines. Read it again after every call, as ``maximumLineLength``.
    public var chunkOctetsExpected: Int {
        guard phase == .inChunk else { return 0 }
        return chunk?.remaining ?? 0
    }

    /// `BDAT size [LAST]`: the chunk's octets are read whatever happens to them, and answered once all have arrived.
    ///
    /// - Parameter afterFailedChunk: whether the command follows a BDAT whose message was refused: RFC 3030 section 2
    ///   has the client send no more chunks then, but those it had already pipelined are read and refused without
    ///   counting as errors.
    mutating func bdat(size: Int, isLast: Bool, afterFailedChunk: Bool) -> [SMTPSessionAction] {
        let disposition: BDATChunk.Disposition
        if let refusal = chunkRefusal() {
            if authenticatedIdentity == nil, size > configuration.limits.chunkBeforeLogin {
                return closeConnection(with: refusal, level: .notice, reason: "BDAT before login")
            }
            followsFailedChunk = afterFailedChunk
            disposition = .discard(refusal, countsAsError: !afterFailedChunk)
        } else {
            if transaction?.chunks == nil {
                let header = startMessage()
                let limits = configuration.limits
                transaction?.chunks = MessageChunkReceiver(
                    header: header,
                    sizeLimit: limits.messageSize,
                    lineLimit: limits.textLineLength
                )
            }
            transaction?.chunks?.announce(size)
            disposition = .append
        }
        chunk = BDATChunk(size: size, remaining: size, isLast: isLast, disposition: disposition, phaseAfter: phase)
        phase = .inChunk
        return size == 0 ? endOfChunk() : []
    }

    /// Octets of the chunk being read, as they arrive: at most ``chunkOctetsExpected``.
    public mutating func receiveChunkOctets(_ octets: [UInt8]) -> [SMTPSessionAction] {
        guard phase != .closed else { return [] }
        guard phase == .inChunk, var chunk, octets.count <= chunk.remaining else { return [ignoredEvent("octets")] }
        if case .append = chunk.disposition { transaction?.chunks?.receive(octets) }
        chunk.remaining -= octets.count
        self.chunk = chunk
        return chunk.remaining == 0 ? endOfChunk() : []
    }

    /// Why a BDAT chunk is refused before its octets arrive, `nil` when they belong to the transaction's message.
    private func chunkRefusal() -> SMTPReply? {
        guard configuration.offersChunking else { return .commandNotImplemented }
        guard saidEHLO else { return .badSequence("Send EHLO first") }
        guard phase == .inTransaction, let transaction else { return .badSequence("Need MAIL command") }
        guard !transaction.recipients.isEmpty else { return .badSequence("Need RCPT command") }
        return nil
    }

    /// All octets of the chunk are in: answer it, end the message at `LAST`, or refuse the message.
    private mutating func endOfChunk() -> [SMTPSessionAction] {
        guard let chunk else { return [ignoredEvent("endOfChunk")] }
        self.chunk = nil
        phase = chunk.phaseAfter
        switch chunk.disposition {
        case .discard(let reply, let countsAsError):
            return countsAsError ? reject(reply) : [.send(reply)]
        case .append:
            if chunk.isLast { transaction?.chunks?.finish() }
            guard let receiver = transaction?.chunks else { return [ignoredEvent("endOfChunk")] }
            if let refusal = receiver.refusal {
                followsFailedChunk = true
                return endOfMessage([], size: receiver.size, refusal: refusal)
            }
            guard chunk.isLast else { return [.send(.chunkReceived(chunk.size))] }
            return endOfMessage(receiver.message, size: receiver.size, refusal: nil)
        }
    }
}
