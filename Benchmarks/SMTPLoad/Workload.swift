/// What one session does, from connect to QUIT (or to being held open).
enum Workload: String, CaseIterable, Sendable {
    /// Connect, EHLO, STARTTLS, EHLO, AUTH PLAIN, QUIT.
    case tlsAuth = "tls-auth"
    /// Connect, EHLO, AUTH CRAM-MD5 without TLS, QUIT.
    case cramMD5 = "cram-md5"
    /// Connect, EHLO, STARTTLS, EHLO, AUTH PLAIN, MAIL, RCPT, DATA with one message, QUIT.
    case tlsMessage = "tls-message"
    /// Connect, EHLO, then held open until released (standard input), then QUIT.
    case idleEHLO = "idle-ehlo"
    /// Connect, EHLO, STARTTLS, EHLO, AUTH PLAIN, then held open until released, then QUIT.
    case idleAuth = "idle-auth"

    /// Whether the session starts TLS.
    var usesTLS: Bool { self == .tlsAuth || self == .tlsMessage || self == .idleAuth }

    /// Whether sessions are held open until released rather than ended at once.
    var holds: Bool { self == .idleEHLO || self == .idleAuth }
}
