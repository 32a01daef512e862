import NIOCore
import NIOSSL
import SASLClient
import SASLDB

/// What every session of a run shares: the workload, the login, the message, the TLS context.
struct SessionScript: Sendable {
    var workload: Workload
    var user: String
    var password: String
    var heloName = "loadgen.bench.local"
    var sender: String
    var recipient: String
    /// The message, dot-stuffed, ending in `CRLF.CRLF`.
    var message: ByteBuffer
    /// The client side of STARTTLS, built once.
    var tlsContext: NIOSSLContext?

    /// The login and password of every session.
    var credentials: SASLClientCredentials { SASLClientCredentials(user: user, password: password) }

    /// `AUTH PLAIN` with its initial response (RFC 4616: authzid empty, authcid, password).
    var authPlainCommand: String {
        var client = PlainClient(credentials: credentials)
        return "AUTH PLAIN " + Base64.encode((try? client.initialResponse()) ?? [])
    }

    /// The CRAM-MD5 response (RFC 2195) to a base64 challenge, base64-encoded; nil if the challenge is not base64.
    func cramMD5Response(toChallenge text: Substring) -> String? {
        var client = CRAMMD5Client(credentials: credentials)
        guard let challenge = Base64.decode(text), let response = try? client.respond(to: challenge) else { return nil }
        return Base64.encode(response)
    }

    /// A message of about `size` bytes: headers, then 76-character lines of text.
    static func makeMessage(size: Int, sender: String, recipient: String) -> ByteBuffer {
        var text =
            "From: <\(sender)>\r\nTo: <\(recipient)>\r\nSubject: load test\r\n"
            + "Message-ID: <load@bench.local>\r\nDate: Thu, 01 Jan 2026 00:00:00 +0000\r\n\r\n"
        let line = String(repeating: "abcdefghijklmnopqrstuvwxyz0123456789", count: 3).prefix(74) + "\r\n"
        while text.utf8.count + line.utf8.count <= size { text += line }
        text += ".\r\n"
        return ByteBuffer(string: text)
    }
}
