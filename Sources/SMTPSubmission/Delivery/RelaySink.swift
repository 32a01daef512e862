import NIOCore
import SASLClient
import ServerKit

/// Forwards each message, while the client waits, to an SMTP or LMTP server: the local MTA's second smtpd
/// (`127.0.0.1:10025` beside Postfix), or a mail store's LMTP (Dovecot, Cyrus).
///
/// One connection per message: greeting, `EHLO` (`LHLO` for LMTP; `HELO` when an SMTP server refuses `EHLO`),
/// `MAIL FROM` (with `BODY=8BITMIME`, `SMTPUTF8` and `SIZE` when the server offers them), a `RCPT TO` for each
/// recipient, `DATA` with dot-stuffing, `QUIT`. The message is taken only when the next hop took it for every
/// recipient, because the submission client has already been told each recipient is fine:
///
/// - A 5xx to `MAIL`, `RCPT`, `DATA` or the message is ``MessageSinkError/permanent(reason:)``.
/// - A 4xx, a greeting or `EHLO` refused, an unexpected reply, a closed connection or a timeout is
///   ``MessageSinkError/temporary(reason:)``.
/// - After LMTP's `DATA`, each recipient has its own reply: all 2xx is success; any 4xx is temporary, even when other
///   recipients took the message (their copy is then delivered again on retry: a duplicate rather than a loss); else
///   any 5xx is permanent.
///
/// With ``tls``, `STARTTLS` follows `EHLO`/`LHLO` and the server's certificate is verified before anything else is
/// sent; a server that does not offer it, or whose certificate does not verify, gets nothing (a temporary failure).
/// Without ``tls`` the connection stays plain, and only a next hop on the loopback interface is reached: any other
/// host would see the mail (and credentials) in the clear, so such a delivery fails, temporarily, before connecting.
/// With ``credentials``, `AUTH PLAIN` (or `LOGIN` when PLAIN is not offered) follows TLS; a server that refuses them
/// is a temporary failure too (the site's configuration is at fault, not the message). Every read and write is
/// bounded by ``commandTimeout``, the connection by ``connectTimeout``.
public struct RelaySink: MessageSink {
    /// The next hop's host name or address.
    public let host: String
    /// Its port.
    public let port: Int
    /// Whether it speaks LMTP (RFC 2033) rather than SMTP.
    public let lmtp: Bool
    /// The name this server gives in `EHLO`/`LHLO`.
    public let heloName: String
    /// The limit for connecting.
    public let connectTimeout: Duration
    /// The limit for each reply and each write, the message included.
    public let commandTimeout: Duration
    /// `STARTTLS` with verification; `nil` for a plain connection, allowed to a loopback address only.
    public let tls: SMTPClientTLS?
    /// The login and password for `AUTH`; `nil` to send no `AUTH`.
    public let credentials: SASLClientCredentials?

    /// Creates a sink forwarding to `host:port`.
    ///
    /// - Parameters:
    ///   - host: a name or an address (`127.0.0.1`, `::1`).
    ///   - port: the port (`10025` for Postfix's second smtpd, `24` for LMTP).
    ///   - lmtp: speak LMTP.
    ///   - heloName: the name for `EHLO`/`LHLO`, normally the daemon's host name.
    ///   - connectTimeout: the limit for connecting.
    ///   - commandTimeout: the limit for each reply and write.
    ///   - tls: `STARTTLS` with verification; `nil` for a plain connection, which only a loopback `host` gets.
    ///   - credentials: the login and password for `AUTH`; `nil` for none.
    public init(
        host: String,
        port: Int,
        lmtp: Bool = false,
        heloName: String = "localhost",
        connectTimeout: Duration = .seconds(30),
        commandTimeout: Duration = .seconds(300),
        tls: SMTPClientTLS? = nil,
        credentials: SASLClientCredentials? = nil
    ) {
        self.host = host
        self.port = port
        self.lmtp = lmtp
        self.heloName = heloName
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.tls = tls
        self.credentials = credentials
    }

    /// Forwards the message; returns once the next hop accepted it for every recipient.
    public func deliver(_ message: SubmittedMessage) async throws(MessageSinkError) {
        try EnvelopeAddress.validateForProtocol(sender: message.sender, recipients: message.recipients)
        guard tls != nil || isLoopbackHost(host) else {
            throw .temporary(
                reason: "\(peerName) is not a loopback address: refusing to relay to it without TLS"
            )
        }
        do {
            try await SMTPClientConnection.withConnection(
                host: host,
                port: port,
                connectTimeout: connectTimeout,
                commandTimeout: commandTimeout
            ) { connection in
                try await transaction(message, over: connection)
            }
        } catch let error as MessageSinkError {
            throw error
        } catch {
            throw .temporary(reason: "\(peerName): \(error)")
        }
    }

    /// `smtp:127.0.0.1:10025`, for reasons.
    private var peerName: String { "\(lmtp ? "lmtp" : "smtp"):\(host):\(port)" }

    private func transaction(_ message: SubmittedMessage, over connection: SMTPClientConnection) async throws {
        let greeting = try await connection.readReply(step: "the greeting")
        guard greeting.code == 220 else { throw failure(greeting, after: "connecting", permanentAllowed: false) }

        var hello = try await connection.command((lmtp ? "LHLO " : "EHLO ") + heloName)
        if !hello.isSuccess && !lmtp {
            hello = try await connection.command("HELO " + heloName)
            hello.lines = Array(hello.lines.prefix(1))
        }
        guard hello.isSuccess else { throw failure(hello, after: lmtp ? "LHLO" : "EHLO", permanentAllowed: false) }
        var extensions = hello.extensions
        if let tls {
            extensions = try await startTLS(tls, over: connection, offered: extensions)
        }
        if let credentials {
            try await authenticate(credentials, over: connection, offered: extensions)
        }

        var mail = "MAIL FROM:<\(message.sender)>"
        if message.parameters["BODY"]?.uppercased() == "8BITMIME" && extensions["8BITMIME"] != nil {
            mail += " BODY=8BITMIME"
        }
        if message.parameters["SMTPUTF8"] != nil {
            if extensions["SMTPUTF8"] != nil {
                mail += " SMTPUTF8"
            } else if ([message.sender] + message.recipients).contains(where: { $0.utf8.contains { $0 >= 0x80 } }) {
                try? await connection.send("QUIT")
                throw MessageSinkError.permanent(reason: "\(peerName) does not offer SMTPUTF8 for UTF-8 addresses")
            }
        }
        if extensions["SIZE"] != nil { mail += " SIZE=\(message.data.count)" }
        let mailReply = try await connection.command(mail)
        guard mailReply.isSuccess else { throw await abandon(connection, failure(mailReply, after: "MAIL FROM")) }

        var refusals: [(recipient: String, reply: SMTPClientReply)] = []
        for recipient in message.recipients {
            let reply = try await connection.command("RCPT TO:<\(recipient)>")
            if !reply.isSuccess { refusals.append((recipient, reply)) }
        }
        if let refusal = refusals.first(where: { $0.reply.isPermanentFailure }) ?? refusals.first {
            throw await abandon(connection, failure(refusal.reply, after: "RCPT TO:<\(refusal.recipient)>"))
        }

        let data = try await connection.command("DATA")
        guard data.code == 354 else { throw await abandon(connection, failure(data, after: "DATA")) }
        try await connection.sendMessage(message.data)

        var finals: [SMTPClientReply] = []
        for _ in 0..<(lmtp ? message.recipients.count : 1) {
            finals.append(try await connection.readReply(step: "the reply to the message"))
        }
        _ = try? await connection.command("QUIT")
        if let reply = finals.first(where: \.isTemporaryFailure) ?? finals.first(where: { !$0.isSuccess }) {
            throw failure(reply, after: "the message")
        }
    }

    /// `STARTTLS`, the handshake with verification, and `EHLO`/`LHLO` again; returns the extensions offered over TLS.
    private func startTLS(
        _ tls: SMTPClientTLS,
        over connection: SMTPClientConnection,
        offered extensions: [String: String]
    ) async throws -> [String: String] {
        guard extensions["STARTTLS"] != nil else {
            _ = try? await connection.command("QUIT")
            throw MessageSinkError.temporary(reason: "\(peerName) does not offer STARTTLS: nothing sent in the clear")
        }
        let reply = try await connection.command("STARTTLS")
        guard reply.code == 220 else {
            _ = try? await connection.command("QUIT")
            throw failure(reply, after: "STARTTLS", permanentAllowed: false)
        }
        let hello: SMTPClientReply
        do {
            let name = tls.serverHostname ?? host
            try await connection.startTLS(
                context: tls.context,
                serverHostname: name,
                certificateMustName: SMTPClientConnection.sniName(name)
            )
            // The handshake, and the certificate's verification, run with this first write.
            hello = try await connection.command((lmtp ? "LHLO " : "EHLO ") + heloName)
        } catch {
            let cause = connection.tlsFailure ?? "\(error)"
            throw MessageSinkError.temporary(reason: "\(peerName): TLS failed (\(cause)): nothing sent")
        }
        guard hello.isSuccess else { throw failure(hello, after: lmtp ? "LHLO" : "EHLO", permanentAllowed: false) }
        return hello.extensions
    }

    /// `AUTH PLAIN`, or `AUTH LOGIN` when the server offers only that; a refusal is temporary: the credentials are the
    /// site's, and mail waits until they are fixed.
    private func authenticate(
        _ credentials: SASLClientCredentials,
        over connection: SMTPClientConnection,
        offered extensions: [String: String]
    ) async throws {
        let offered = Set((extensions["AUTH"] ?? "").split(separator: " ").map { $0.uppercased() })
        guard let name = [PlainClient.name, LoginClient.name].first(where: offered.contains) else {
            _ = try? await connection.command("QUIT")
            throw MessageSinkError.temporary(reason: "\(peerName) offers neither AUTH PLAIN nor AUTH LOGIN")
        }
        let mechanism = try SASLClientFactory.make(
            name,
            credentials: credentials,
            options: SASLClientOptions(host: host)
        )
        let reply = try await connection.authenticate(with: mechanism)
        guard reply.code == 235 else {
            _ = try? await connection.command("QUIT")
            throw MessageSinkError.temporary(reason: "\(peerName) refused AUTH \(name): \(reply)")
        }
    }

    /// The failure a reply means: 5xx permanent (when `permanentAllowed`), anything else temporary.
    private func failure(
        _ reply: SMTPClientReply,
        after step: String,
        permanentAllowed: Bool = true
    ) -> MessageSinkError {
        let reason = "\(peerName) answered \(step) with \(reply)"
        return reply.isPermanentFailure && permanentAllowed ? .permanent(reason: reason) : .temporary(reason: reason)
    }

    /// Ends the transaction politely (`RSET`, `QUIT`) and returns `error` to throw.
    private func abandon(_ connection: SMTPClientConnection, _ error: MessageSinkError) async -> MessageSinkError {
        _ = try? await connection.command("RSET")
        _ = try? await connection.command("QUIT")
        return error
    }
}
