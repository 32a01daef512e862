import SASLMechanisms

/// What the session state machine asks its I/O driver (the NIO handler, or a test) to do, in order.
///
/// The session never performs I/O: every effect is one of these, and every outcome comes back as a call on
/// ``SMTPSession`` (`saslStepCompleted`, `deliveryCompleted`, `tlsEstablished`, ...).
public enum SMTPSessionAction: Sendable {
    /// Write this reply. Replies are flushed when the driver has no more buffered input (PIPELINING).
    case send(SMTPReply)
    /// The `220` to STARTTLS was queued just before: flush it, throw away every byte the client sent after the
    /// STARTTLS line (CVE-2011-0411), start TLS, then call ``SMTPSession/tlsEstablished(channelBindings:)``.
    case startTLS
    /// Run `request.mechanism.step(request.response)` off the event loop (it reads the store and may run PBKDF2),
    /// then call ``SMTPSession/saslStepCompleted(mechanism:step:)`` with the mutated mechanism and its result.
    /// Until then the driver feeds the session no further input.
    case runSASLStep(SASLStepRequest)
    /// Hand the message to the sink, then call ``SMTPSession/deliveryCompleted(_:)``. No input until then.
    case deliver(SubmittedMessage)
    /// Wait this long before reading further input (the growing delay after failed AUTH attempts).
    case pause(milliseconds: Int)
    /// Record a failed AUTH for the client address and for the account `user` (`authid@realm`, when the client named
    /// one), both shared across connections by the server; `credential` is a keyed hash of what was tried when the
    /// mechanism reveals it (PLAIN, LOGIN), so identical retries count once.
    case recordAuthFailure(user: String?, credential: [UInt8]?)
    /// Log one event (AUTH result, TLS, message accepted, protocol violation) with structured fields; never secrets.
    case log(SMTPLogEvent)
    /// Flush what is queued and close the connection.
    case close
}

/// One step of a SASL exchange to run off the event loop.
public struct SASLStepRequest: Sendable {
    /// The mechanism state; the driver runs `step` on a copy and returns the copy.
    public var mechanism: any SASLServerMechanism
    /// The decoded client response (`nil` = no initial response).
    public var response: [UInt8]?

    /// Creates a request.
    public init(mechanism: any SASLServerMechanism, response: [UInt8]?) {
        self.mechanism = mechanism
        self.response = response
    }

    /// Overwrites the response with zeros once the step has run: it may hold a password (PLAIN, LOGIN). The storage
    /// every copy of this request shares is overwritten in place (a copy-on-write mutation would zero a fresh copy and
    /// leave the password where it was), so no copy may read the response afterwards.
    public func eraseResponse() {
        response?.overwriteSharedStorageWithZeros()
    }
}

/// A log event of the session: a fixed message and `key=value` metadata (swift-log style), never a password.
public struct SMTPLogEvent: Sendable, Equatable {
    /// The severity.
    public enum Level: Sendable, Equatable {
        case debug, info, notice, warning
    }

    /// The severity.
    public var level: Level
    /// A fixed message, for example `auth` or `message accepted`.
    public var message: String
    /// Structured fields such as `sasl.mechanism`, `sasl.user`, `auth.result`.
    public var metadata: [String: String]

    /// Creates an event.
    public init(_ level: Level, _ message: String, _ metadata: [String: String] = [:]) {
        self.level = level
        self.message = message
        self.metadata = metadata
    }
}
