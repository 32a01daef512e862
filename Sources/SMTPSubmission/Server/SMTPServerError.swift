/// Why the server could not start, reload or serve. Equal by kind; `description` is an actionable sentence with the
/// detail (a path, an address, the underlying error), never a key or a password.
public struct SMTPServerError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Code: Sendable, Hashable {
        case tlsUnreadable
        case tlsRequired
        case bindFailed
        case alreadyStarted
        case notListening
    }

    private let code: Code
    private let detail: String

    private init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    /// The certificate chain or the private key could not be read or do not form a usable TLS context.
    public static let tlsUnreadable = SMTPServerError(.tlsUnreadable, "")
    /// A `submission` or `implicitTLS` listener was configured without TLS material.
    public static let tlsRequired = SMTPServerError(.tlsRequired, "")
    /// A listener could not bind its address.
    public static let bindFailed = SMTPServerError(.bindFailed, "")
    /// ``SMTPServer/run()`` was called twice.
    public static let alreadyStarted = SMTPServerError(.alreadyStarted, "")
    /// The server stopped (or failed) before it listened, so it has no bound addresses.
    public static let notListening = SMTPServerError(.notListening, "")

    static func tlsUnreadable(_ detail: String) -> SMTPServerError { SMTPServerError(.tlsUnreadable, detail) }
    static func tlsRequired(_ detail: String) -> SMTPServerError { SMTPServerError(.tlsRequired, detail) }
    static func bindFailed(_ detail: String) -> SMTPServerError { SMTPServerError(.bindFailed, detail) }
    static func notListening(_ detail: String) -> SMTPServerError { SMTPServerError(.notListening, detail) }

    public static func == (lhs: SMTPServerError, rhs: SMTPServerError) -> Bool { lhs.code == rhs.code }

    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    public var description: String {
        let base: String
        switch code {
        case .tlsUnreadable:
            base =
                "the TLS certificate chain or private key cannot be used; check the PEM files and that the key matches"
        case .tlsRequired:
            base = "a submission or implicit-TLS listener needs a TLS certificate and key; configure `tls`"
        case .bindFailed:
            base = "a listener could not bind its address; check that the port is free and the address is local"
        case .alreadyStarted:
            base = "the server is already running; create a new SMTPServer to run it again"
        case .notListening:
            base = "the server is not listening (it stopped or failed to start)"
        }
        return detail.isEmpty ? base : "\(base): \(detail)"
    }
}
