import ArgumentParser
import NIOSSL
import SASLClient
import SASLDB
import SASLMechanisms
import SMTPSubmission

#if canImport(Glibc)
import Glibc
#endif

/// `sasl-smtpd smtp-test`: connects to a submission server, authenticates and optionally sends a test message,
/// printing the conversation the way the seed's transcripts show it, with each SASL exchange decoded and the
/// password never shown.
struct SMTPTestCommand: ParsableCommand, Sendable {
    static let configuration = CommandConfiguration(
        commandName: "smtp-test",
        abstract: "Authenticate to an SMTP server and print the conversation, SASL exchanges decoded.",
        discussion: """
            Exits 0 when AUTH succeeded (and the message was accepted, with --to), 1 otherwise. The password is read \
            from the first line of --password-file (- for standard input) and never printed.
            """
    )

    @Option(help: "The server's host name or address.")
    var host: String = "127.0.0.1"

    @Option(help: "The port (default 587, or 465 with --tls).")
    var port: Int?

    @Flag(help: "Start TLS with STARTTLS after the first EHLO.")
    var starttls = false

    @Flag(help: "TLS from the first byte (implicit TLS, port 465).")
    var tls = false

    @Option(help: "The SASL mechanism: SCRAM-SHA-256, SCRAM-SHA-1, DIGEST-MD5, CRAM-MD5, PLAIN or LOGIN.")
    var mechanism: String = "PLAIN"

    @Option(help: "The login name, for example demo@demo.local.")
    var user: String

    @Option(help: ArgumentHelp("A file whose first line is the password (- for standard input).", valueName: "path"))
    var passwordFile: String

    @Option(help: ArgumentHelp("Trust this PEM certificate (or CA) instead of the system's roots.", valueName: "path"))
    var cafile: String?

    @Flag(help: "Do not verify the server's certificate.")
    var insecure = false

    @Option(help: "The name sent in EHLO.")
    var helo: String = "smtp-test"

    @Option(help: "The envelope sender of the test message (default: the user).")
    var from: String?

    @Option(help: "Send a test message to this recipient (repeatable); without it, stop after AUTH.")
    var to: [String] = []

    @Option(help: "Seconds to wait for each reply.")
    var timeout: Int = 30

    func validate() throws {
        if starttls && tls { throw ValidationError("--starttls and --tls exclude each other") }
        if let port, !(1...65535).contains(port) { throw ValidationError("--port must be from 1 to 65535") }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
    }

    func run() throws {
        try AsyncBridge.run { try await test() }
    }

    private func test() async throws {
        let password: [UInt8]
        do throws(ConfigurationError) {
            password = try readPassword()
        } catch {
            printError(error.message)
            throw ExitCode.failure
        }
        let context: NIOSSLContext?
        do {
            context = starttls || tls ? try makeTLSContext() : nil
        } catch {
            printError("TLS: \(error)")
            throw ExitCode.failure
        }
        let port = port ?? (tls ? 465 : 587)
        let transcript = Transcript()
        print("Connecting to SMTP server: \(host):\(port) ...")
        do {
            let succeeded = try await SMTPClientConnection.withConnection(
                host: host,
                port: port,
                tls: tls ? context.map { .init(context: $0, serverHostname: host) } : nil,
                connectTimeout: .seconds(timeout),
                commandTimeout: .seconds(timeout)
            ) { connection in
                connection.trace = { sent, line in transcript.line(sent: sent, line) }
                return try await conversation(connection, context: context, password: password, transcript: transcript)
            }
            if !succeeded { throw ExitCode.failure }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            print("Error: \(error)")
            throw ExitCode.failure
        }
    }

    /// The conversation; `true` when AUTH (and the message) succeeded.
    private func conversation(
        _ connection: SMTPClientConnection,
        context: NIOSSLContext?,
        password: [UInt8],
        transcript: Transcript
    ) async throws -> Bool {
        let greeting = try await connection.readReply(step: "the greeting")
        guard greeting.code == 220 else { return false }
        if tls { await printTLS(connection) }
        transcript.extended = true
        var hello = try await connection.command("EHLO " + helo)
        guard hello.isSuccess else { return false }
        if starttls, let context {
            let reply = try await connection.command("STARTTLS")
            guard reply.code == 220 else { return false }
            try await connection.startTLS(context: context, serverHostname: host)
            hello = try await connection.command("EHLO " + helo)
            await printTLS(connection)
            guard hello.isSuccess else { return false }
        }
        guard try await authenticate(connection, password: password, transcript: transcript) else {
            _ = try? await connection.command("QUIT")
            return false
        }
        var accepted = true
        if !to.isEmpty {
            transcript.extended = false
            accepted = try await sendMessage(connection)
        }
        _ = try? await connection.command("QUIT")
        return accepted
    }

    private func authenticate(
        _ connection: SMTPClientConnection,
        password: [UInt8],
        transcript: Transcript
    ) async throws -> Bool {
        let client = try SASLClientFactory.make(
            mechanism,
            credentials: SASLClientCredentials(user: user, password: password),
            options: SASLClientOptions(host: host, preparePassword: { try? saslPrep($0, allowUnassigned: false) })
        )
        do {
            let reply = try await connection.authenticate(with: client) { step in
                transcript.decoded(sent: step.sent, Transcript.printable(step.shown))
                if step.sent { transcript.maskNextSent = step.holdsPassword }
            }
            return reply.code == 235
        } catch SMTPClientError.authenticationCancelled(let reason) {
            print("Error: \(reason)")
            return false
        }
    }

    private func sendMessage(_ connection: SMTPClientConnection) async throws -> Bool {
        guard try await connection.command("MAIL FROM:<\(from ?? user)>").isSuccess else { return false }
        for recipient in to {
            guard try await connection.command("RCPT TO:<\(recipient)>").isSuccess else { return false }
        }
        guard try await connection.command("DATA").code == 354 else { return false }
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        let message =
            "From: <\(from ?? user)>\r\nTo: \(to.map { "<\($0)>" }.joined(separator: ", "))\r\n"
            + "Subject: sasl-smtpd smtp-test\r\nMessage-ID: <smtp-test.\(now).\(getpid())@\(helo)>\r\n\r\n"
            + "A test message sent by sasl-smtpd smtp-test with \(mechanism).\r\n"
        try await connection.sendMessage(Array(message.utf8))
        return try await connection.readReply(step: "the reply to the message").isSuccess
    }

    private func printTLS(_ connection: SMTPClientConnection) async {
        let session = await connection.tlsSession()
        print("TLS connection using \(session.version.map(Self.versionName) ?? "TLS")")
        if let certificate = session.certificate {
            print(
                "Server certificate: Subject: \(Self.name(certificate.subjectName)) Issuer: \(Self.name(certificate.issuerName))"
            )
        }
    }

    private static func versionName(_ version: TLSVersion) -> String {
        switch version {
        case .tlsv1: return "TLSv1.0"
        case .tlsv11: return "TLSv1.1"
        case .tlsv12: return "TLSv1.2"
        case .tlsv13: return "TLSv1.3"
        }
    }

    private static func name(_ parts: [SSLCertificateName]) -> String {
        parts.map { part in
            let key: String
            switch part.type {
            case .commonName: key = "CN"
            case .organization: key = "O"
            case .organizationalUnit: key = "OU"
            case .country: key = "C"
            case .state: key = "ST"
            case .city: key = "L"
            case .emailAddress: key = "Email"
            default: key = "?"
            }
            return "/\(key)=\(part.value)"
        }.joined()
    }

    private func makeTLSContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if insecure {
            configuration.certificateVerification = .none
        } else if let cafile {
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(cafile))
        }
        return try NIOSSLContext(configuration: configuration)
    }

    private func readPassword() throws(ConfigurationError) -> [UInt8] {
        let text =
            passwordFile == "-" ? (readLine(strippingNewline: true) ?? "") : try ConfigurationFile.read(passwordFile)
        let line = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let password = line.hasSuffix("\r") ? line.dropLast() : line
        guard !password.isEmpty else {
            throw ConfigurationError("\(passwordFile): the first line (the password) is empty")
        }
        return Array(password.utf8)
    }
}
