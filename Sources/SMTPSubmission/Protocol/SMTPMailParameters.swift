/// The `MAIL FROM` parameters this server understands (every other one is refused with 555).
public struct SMTPMailParameters: Sendable, Equatable {
    /// `BODY=` of RFC 6152.
    public enum Body: String, Sendable, Equatable {
        /// `BODY=7BIT`.
        case sevenBit = "7BIT"
        /// `BODY=8BITMIME`.
        case eightBitMIME = "8BITMIME"
    }

    /// `SIZE=`: the size the client declares (RFC 1870), checked against the limit before any data is read.
    public var size: Int?
    /// `BODY=`.
    public var body: Body?
    /// `SMTPUTF8` (RFC 6531): the addresses and headers may hold UTF-8.
    public var smtpUTF8: Bool
    /// `AUTH=` (RFC 4954 section 5), as sent (xtext, or `<>`); recorded, never trusted for anything.
    public var auth: String?

    /// Creates parameters; all absent by default.
    public init(size: Int? = nil, body: Body? = nil, smtpUTF8: Bool = false, auth: String? = nil) {
        self.size = size
        self.body = body
        self.smtpUTF8 = smtpUTF8
        self.auth = auth
    }

    /// Whether no parameter was given.
    public var isEmpty: Bool { size == nil && body == nil && !smtpUTF8 && auth == nil }
}
