/// The client side of one SASL mechanism for one authentication attempt: a pure state machine.
///
/// No I/O, no base64, no logging: the caller sends the responses in its protocol's framing (SMTP's `AUTH` and `334`
/// lines, for example) and decodes the server's challenges before handing them over. A fresh value is made for every
/// attempt, with ``SASLClientFactory/make(_:credentials:options:)`` or one of the mechanism types directly.
///
/// An exchange calls ``initialResponse()`` once, then ``respond(to:)`` for each challenge, until the server says the
/// exchange is over. Mechanisms that authenticate the server (DIGEST-MD5's `rspauth`, SCRAM's server signature) throw
/// from ``respond(to:)`` when the server's proof is wrong: such a server does not know the password.
public protocol SASLClientMechanism: Sendable {
    /// The IANA name, for example `CRAM-MD5`.
    var name: String { get }

    /// The response sent with the command that starts the exchange (SMTP: `AUTH <name> <response>`), or `nil` for a
    /// mechanism whose server speaks first. An empty array is an empty initial response, which differs from none.
    ///
    /// - Throws: ``SASLClientError`` when the credentials cannot be sent with this mechanism.
    mutating func initialResponse() throws(SASLClientError) -> [UInt8]?

    /// The response to the server's next challenge, already decoded.
    ///
    /// - Throws: ``SASLClientError`` for a challenge the mechanism does not expect, one it cannot parse, or a server
    ///   proof that is wrong; the exchange cannot go on (SMTP: cancel it with `*`).
    mutating func respond(to challenge: [UInt8]) throws(SASLClientError) -> [UInt8]

    /// `response`, just returned by this mechanism, as a transcript or a log may show it: the password replaced by
    /// `********`; `nil` when the response does not hold the password in the clear and may be shown as it is.
    func redacted(_ response: [UInt8]) -> [UInt8]?
}

extension SASLClientMechanism {
    /// `nil`: the mechanism never sends the password in the clear.
    public func redacted(_ response: [UInt8]) -> [UInt8]? { nil }
}

/// What a transcript shows instead of a password.
let redactedPassword = Array("********".utf8)
