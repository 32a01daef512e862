/// One reply line of the poppassd dialogue: a three-digit code and a text, sent as `code SP text CRLF`.
///
/// Clients look at the first digit only (Roundcube's driver takes `2xx` and `3xx` as "go on" and shows the text after
/// the code of any other reply to the user), so every refusal is `500` with a sentence a user can act on.
public struct PoppassdReply: Sendable, Equatable, CustomStringConvertible {
    /// The code: `200` for "go on" and success, `500` for every refusal.
    public var code: Int
    /// The text after the code, without line ending; never a password.
    public var text: String

    /// Creates a reply.
    public init(code: Int, text: String) {
        self.code = code
        self.text = text
    }

    /// Parses a reply line as a client reads it, without its line ending: three digits, then nothing or a space and
    /// the text. `nil` for anything else.
    ///
    /// The text is decoded as UTF-8, invalid bytes replaced; it comes from the server and may hold anything, so show
    /// it with its control characters neutralised.
    public init?(line: [UInt8]) {
        let digits = line.prefix(3)
        guard digits.count == 3, digits.allSatisfy({ (0x30...0x39).contains($0) }),
            line.count == 3 || line[3] == UInt8(ascii: " ")
        else { return nil }
        self.init(
            code: digits.reduce(0) { $0 * 10 + Int($1 - 0x30) },
            text: String(decoding: line.dropFirst(4), as: UTF8.self)
        )
    }

    /// The bytes sent: `code SP text CRLF`.
    public var encoded: [UInt8] { Array("\(code) \(text)\r\n".utf8) }

    /// The first digit of the code: 2 (done, or go on), 3 (go on), 4 or 5 (refused).
    public var codeClass: Int { code / 100 }

    /// `code text`, as a log shows it.
    public var description: String { "\(code) \(text)" }

    /// The refusal of a change, its reason the error's user-facing ``PasswordChangeError/description``.
    public static func refusal(_ error: PasswordChangeError) -> PoppassdReply {
        PoppassdReply(code: 500, text: error.description)
    }
}

extension PoppassdReply {
    /// The greeting. Classic poppassd's words; no version, so a scan learns nothing.
    public static let greeting = PoppassdReply(code: 200, text: "poppassd hello, who are you?")
    /// After `user`, whatever the name: the user is only looked up at `newpass`.
    public static let askPassword = PoppassdReply(code: 200, text: "your password please.")
    /// After `pass`, whatever the password: it is only checked at `newpass`.
    public static let askNewPassword = PoppassdReply(code: 200, text: "your new password please.")
    /// The password was changed.
    public static let changed = PoppassdReply(code: 200, text: "Password changed, thank-you.")
    /// The answer to `quit`.
    public static let bye = PoppassdReply(code: 200, text: "Bye.")
    /// A line longer than ``PoppassdSession/maximumLineLength``.
    public static let lineTooLong = PoppassdReply(code: 500, text: "line too long")
    /// Too many errors in one dialogue.
    public static let tooManyErrors = PoppassdReply(code: 500, text: "too many errors, closing connection")
    /// The client was silent for too long.
    public static let timeout = PoppassdReply(code: 500, text: "timeout, closing connection")
    /// The daemon is shutting down before the dialogue reached `newpass`.
    public static let shuttingDown = PoppassdReply(code: 500, text: "service shutting down, try again later")
}
