/// Where a session is, in the manner of OpenSMTPD's session phases: the phase alone decides what a line means and
/// which commands are valid. Authentication and TLS are kept beside it, since they last across phases.
enum SMTPSessionPhase: Equatable {
    /// ``SMTPSession/start()`` has not been called.
    case notStarted
    /// The greeting was sent (or TLS just started): EHLO or HELO is expected.
    case connected
    /// EHLO or HELO done, no mail transaction.
    case greeted
    /// MAIL was accepted: RCPT and DATA are expected.
    case inTransaction
    /// A 334 challenge was sent: the next line is the client's SASL response.
    case authenticating
    /// The driver runs a SASL step; no input until ``SMTPSession/saslStepCompleted(mechanism:step:)``.
    case awaitingSASLStep
    /// 354 was sent: lines are message text until the final dot.
    case inData
    /// A BDAT command was read: the next ``SMTPSession/chunkOctetsExpected`` octets are raw chunk data, not lines.
    case inChunk
    /// The driver hands the message to the sink; no input until ``SMTPSession/deliveryCompleted(_:)``.
    case awaitingDelivery
    /// 220 to STARTTLS was sent: input is discarded until ``SMTPSession/tlsEstablished(channelBindings:)``.
    case awaitingTLS
    /// The session asked to close the connection: nothing more is read or sent.
    case closed
}
