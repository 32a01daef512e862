/// Where a session is: the reply it waits for next.
enum SessionStep: String, Sendable {
    case greeting
    case firstEHLO = "ehlo"
    case startTLS = "starttls"
    case secondEHLO = "ehlo-after-tls"
    case authChallenge = "auth-challenge"
    case auth
    case mailFrom = "mail"
    case rcptTo = "rcpt"
    case data
    case body = "end-of-data"
    case held
    case quit
    case done

    /// The reply code expected in this step.
    var expectedCode: Int {
        switch self {
        case .greeting, .startTLS: return 220
        case .firstEHLO, .secondEHLO, .mailFrom, .rcptTo, .body: return 250
        case .authChallenge: return 334
        case .auth: return 235
        case .data: return 354
        case .quit: return 221
        case .held, .done: return 0
        }
    }
}
