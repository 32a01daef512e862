/// saslauthd's answer: `OK` or `NO <text>`, sent as one counted string (a 16-bit big-endian length, then the bytes),
/// after which the server closes the connection.
public enum SaslauthdReply: Sendable, Equatable {
    /// The password is right.
    case ok
    /// The password is not accepted; the text is what the client logs (libsasl passes it on as the error detail).
    case no(String)

    /// The text of every refusal of a password check: the same for a wrong password and an unknown user, so that the
    /// answer never tells a guesser which names exist.
    public static let authenticationFailed = SaslauthdReply.no("authentication failed")

    /// The longest reply text, in bytes: saslauthd's own replies fit a 1024-byte buffer.
    static let maximumTextLength = 1020

    /// The reply as sent: the length prefix, then `OK` or `NO` and the text.
    public var encoded: [UInt8] {
        var body: [UInt8]
        switch self {
        case .ok:
            body = Array("OK".utf8)
        case .no(let text):
            body = Array("NO".utf8)
            if !text.isEmpty { body += [0x20] + Array(text.utf8.prefix(Self.maximumTextLength)) }
        }
        return [UInt8(body.count >> 8), UInt8(body.count & 0xff)] + body
    }
}
