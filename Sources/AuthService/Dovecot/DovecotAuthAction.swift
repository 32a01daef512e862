import Logging
import SASLMechanisms

/// What a ``DovecotAuthConnection`` asks its driver to do, in order.
public enum DovecotAuthAction: Sendable {
    /// Write this line (LF included).
    case send([UInt8])
    /// Run a mechanism step off the event loop and report it with ``DovecotAuthConnection/stepCompleted(id:mechanism:step:now:)``.
    case runStep(DovecotStepRequest)
    /// A request failed: write its `FAIL` line, after the failure delay when the failure counts.
    case fail(DovecotFailure)
    /// Close the connection (a protocol violation the client cannot recover from).
    case close(reason: String)
    /// Log an event: a fixed message and its fields, never a password.
    case log(Logger.Level, String, Logger.Metadata)
}

/// A mechanism step to run for request ``id``.
public struct DovecotStepRequest: Sendable {
    /// The request.
    public var id: UInt32
    /// The mechanism state; the driver runs `step` on a copy and returns the copy.
    public var mechanism: any SASLServerMechanism
    /// The decoded response (`nil`: no initial response).
    public var response: [UInt8]?
    /// The client's address (`rip=`), whose earlier failures delay the first step; `nil` for a later step.
    public var delayedAddress: String?

    /// Overwrites the response with zeros once the step has run (it may hold a password), in the storage every copy
    /// shares.
    public func eraseResponse() {
        response?.overwriteSharedStorageWithZeros()
    }
}

/// A failed request, answered after the delay the failure earns.
public struct DovecotFailure: Sendable {
    /// The `FAIL` line.
    public var line: [UInt8]
    /// Whether the failure counts against the client and the account (a wrong password does, a broken request
    /// does not) and is answered after a pause.
    public var counted: Bool
    /// The client's address (`rip=`), when the request gave one.
    public var remoteAddress: String?
    /// The account the login names (`name@realm`), when the mechanism parsed one.
    public var account: String?
    /// A keyed fingerprint of login and password (PLAIN, LOGIN), so a retried saved password counts once.
    public var fingerprint: [UInt8]?
}
