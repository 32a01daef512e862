import PasswordChange

/// Why `sasldb passwd` changed nothing, in words for the user who asked; never holding a password.
enum PasswdFailure: CommandFailure {
    /// The two new passwords typed differ.
    case mismatch
    /// The change was refused (the current password, the policy, the caller's rights); `reason` is for the user.
    case refused(String)
    /// Neither the database nor the password service can be reached: `databaseNotWritable` says why the database
    /// was not used (`nil` when `--socket` asked for the service).
    case serviceNotRunning(socket: String, detail: String, databaseNotWritable: String?)
    /// The password service did not answer in time.
    case timedOut(socket: String, seconds: Int)
    /// The password service answered outside the poppassd protocol.
    case protocolViolation(socket: String, detail: String)
    /// The store could not be written now; the reason is in the audit record, not shown.
    case unavailable(String)
    /// A setting of the site configuration is wrong.
    case configuration(String)

    /// The failure a refusal of ``PasswordChanger`` becomes.
    init(_ error: PasswordChangeError) {
        switch error {
        case .unavailable: self = .unavailable(error.description)
        case .invalidConfiguration(let message): self = .configuration(message)
        default: self = .refused(error.description)
        }
    }

    /// 1 for a refusal, as `verify` exits 1 for a wrong password; sysexits(3) codes for the rest (sasldb(8)).
    var exitCode: Int32 {
        switch self {
        case .mismatch, .refused: 1
        case .serviceNotRunning: 69  // EX_UNAVAILABLE
        case .timedOut, .unavailable: 75  // EX_TEMPFAIL
        case .protocolViolation: 76  // EX_PROTOCOL
        case .configuration: 78  // EX_CONFIG
        }
    }

    var description: String {
        switch self {
        case .mismatch:
            return "the two new passwords do not match; nothing was changed"
        case .refused(let reason):
            return reason
        case .serviceNotRunning(let socket, let detail, let databaseNotWritable):
            let service = "the password service of sasl-smtpd is not running at \(socket) (\(detail))"
            guard let databaseNotWritable else { return "cannot change the password: \(service)" }
            return "cannot change the password: the database is not writable for you (\(databaseNotWritable)), "
                + "and \(service); ask your administrator"
        case .timedOut(let socket, let seconds):
            return "the password service at \(socket) did not answer within \(seconds) seconds: try again later"
        case .protocolViolation(let socket, let detail):
            return "the password service at \(socket) does not speak the poppassd protocol: \(detail)"
        case .unavailable(let message), .configuration(let message):
            return message
        }
    }
}
