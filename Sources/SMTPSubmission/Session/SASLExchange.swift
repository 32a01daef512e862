import SASLMechanisms
import ServerKit

/// An AUTH command in progress: the mechanism, held here while the client composes its next response and by the
/// driver while a step runs, and what it learned of the attempt.
struct SASLExchange {
    /// The mechanism name, uppercased.
    let mechanismName: String
    /// The mechanism state between steps, and after the last one until the exchange ends; `nil` while the driver
    /// runs a step.
    var mechanism: (any SASLServerMechanism)?

    init(mechanismName: String) {
        self.mechanismName = mechanismName
    }

    /// The login name the client gave, for the log and the failure record, as the mechanism parsed it.
    var login: [UInt8]? { mechanism?.claimedLogin }

    /// For PLAIN and LOGIN once the password arrived, a keyed fingerprint of name and password
    /// (``CredentialFingerprint``): it lets the server count a client that retries the same wrong password (a
    /// misconfigured phone) once, and a client that tries many passwords many times.
    var fingerprint: [UInt8]? {
        mechanism?.withRetryMaterial { CredentialFingerprint.of($0) }
    }

    /// Overwrites the password material the mechanism holds; called when the attempt ends, whatever its result.
    func erase() {
        mechanism?.eraseRetryMaterial()
    }
}
