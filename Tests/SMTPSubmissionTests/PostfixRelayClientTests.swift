import Foundation
import ServerKitTestSupport
import XCTest

@testable import SMTPSubmission

/// Postfix as a client of the server: a private Postfix (``PostfixInstance``) takes a message on a loopback port of
/// its own and its `smtp` client relays it to the server's STARTTLS submission port (`relayhost`), verifying the test
/// certificate (`smtp_tls_security_level = secure`) and authenticating with `smtp_sasl_auth_enable`.
///
/// What arrives is the submitted message byte for byte, behind two trace headers: the server's own `Received:` and,
/// under it, the one Postfix's `smtpd` added when it took the message. Postfix adds nothing else: the message
/// already has `Date:` and `Message-ID:`, and `local_header_rewrite_clients` is empty, so no header is rewritten.
final class PostfixRelayClientTests: XCTestCase {
    private static let login = "alice@example.org"

    /// The message the test hands to Postfix (``testMessage(subject:messageID:)``).
    private static func message(_ tag: String) -> [UInt8] {
        testMessage(
            subject: "relayed by Postfix with \(tag)",
            messageID: "postfix-\(tag)-\(UUID().uuidString)@example.org"
        )
    }

    private struct Relay {
        var server: TestServer
        var postfix: PostfixInstance
    }

    /// Starts the server (a STARTTLS submission listener) and a Postfix relaying through it; both stop at teardown.
    private func startRelay(mechanism: String, mapType: String, password: String) async throws -> Relay {
        try PostfixInstance.requirePostfix()
        let server = try await TestServer.start(kinds: [.submission])
        addTeardownBlock { await server.stop() }
        let client = PostfixInstance.Client(
            login: Self.login,
            password: password,
            mechanism: mechanism,
            mapType: mapType
        )
        let postfix = try await PostfixInstance.start(
            relayPort: server.port(0),
            caFile: try TestCertificate.files().certificatePath,
            client: client
        ) { instance in
            addTeardownBlock { await instance.stop() }
        }
        return Relay(server: server, postfix: postfix)
    }

    /// Submits `message` to Postfix's own smtpd (no TLS, no AUTH: `mynetworks` lets 127.0.0.1 relay) and returns
    /// the queue ID from its `250 2.0.0 Ok: queued as ID`.
    private func submitToPostfix(
        _ message: [UInt8],
        recipients: [String] = ["bob@example.net"],
        mailOptions: [String] = [],
        port: Int
    ) async throws -> String {
        guard let python = ProcessRunner.which("python3") else { throw XCTSkip("python3 is not installed") }
        let path = try TestCertificate.files().directory.appendingPathComponent("\(UUID().uuidString)-postfix.eml")
        try Data(message).write(to: path)
        // smtplib's data() sends bytes as they are, only dot-stuffing them; mail() with SMTPUTF8 sends UTF-8 commands.
        let script = """
            import smtplib, sys
            port, path, options, recipients = int(sys.argv[1]), sys.argv[2], sys.argv[3].split(), sys.argv[4:]
            with smtplib.SMTP('127.0.0.1', port, timeout=30) as smtp:
                smtp.ehlo('client.example')
                for code, text in [smtp.mail('alice@example.org', options)] + [smtp.rcpt(r) for r in recipients]:
                    if code != 250: sys.exit(f'{code} {text.decode()}')
                code, text = smtp.data(open(path, 'rb').read())
                print(code, text.decode())
            """
        let result = await runProcess(
            python,
            ["-c", script, String(port), path.path, mailOptions.joined(separator: " ")] + recipients,
            timeout: 60
        )
        let reply = result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        let prefix = "250 2.0.0 Ok: queued as "
        guard reply.hasPrefix(prefix) else {
            throw TestSupportError("Postfix did not queue the message: \(reply) \(result.standardError)")
        }
        return String(reply.dropFirst(prefix.count))
    }

    /// Waits up to 60 s for the server's sink to get a message, flushing Postfix's queue every 5 s so a deferred
    /// attempt is retried at once rather than at the next queue run.
    private func waitForRelayedMessage(_ relay: Relay) async -> SubmittedMessage? {
        let clock = ContinuousClock()
        let end = clock.now + .seconds(60)
        while clock.now < end {
            if let message = await relay.server.sink.waitForMessages(1, timeout: .seconds(5)).first { return message }
            await relay.postfix.flush()
        }
        return relay.server.sink.messages.first
    }

    /// Relays `message` through Postfix and checks that it arrives intact, with what Postfix and we add.
    private func assertRelayed(
        mechanism: String,
        mapType: String,
        message: [UInt8]? = nil,
        recipients: [String] = ["bob@example.net"],
        smtpUTF8: Bool = false
    ) async throws {
        let relay = try await startRelay(mechanism: mechanism, mapType: mapType, password: SessionFixture.password)
        let message = message ?? Self.message(mechanism)
        let queueID = try await submitToPostfix(
            message,
            recipients: recipients,
            mailOptions: smtpUTF8 ? ["SMTPUTF8", "BODY=8BITMIME"] : [],
            port: relay.postfix.port
        )
        guard let delivered = await waitForRelayedMessage(relay) else {
            XCTFail(
                "nothing arrived within 60 s.\nPostfix's log:\n\(relay.postfix.log())\nour log:\n\(relay.server.logs.text)"
            )
            return
        }
        XCTAssertEqual(relay.server.sink.messages.count, 1, "Postfix sends all recipients in one transaction")
        XCTAssertEqual(delivered.sender, "alice@example.org")
        XCTAssertEqual(delivered.recipients, recipients)
        XCTAssertEqual(delivered.authenticatedUser, Self.login)
        let ours = relay.server.logs.all.first { $0.metadata["auth.result"] == "success" }
        XCTAssertEqual(ours?.metadata["sasl.mechanism"], mechanism, relay.server.logs.text)

        // Ours first: Postfix said EHLO with its myhostname, over TLS, authenticated.
        let ourHeader = String(decoding: delivered.data.prefix(300), as: UTF8.self)
        XCTAssertTrue(ourHeader.hasPrefix("Received: from \(PostfixInstance.hostName) ([127.0.0.1])\r\n"), ourHeader)
        XCTAssertTrue(ourHeader.contains("(Authenticated sender: \(Self.login))"), ourHeader)
        XCTAssertTrue(ourHeader.contains(smtpUTF8 ? " with UTF8SMTPSA id " : " with ESMTPSA id "), ourHeader)

        // Then Postfix's, naming the queue ID it answered with (and the recipient when there is one), then the
        // message exactly as submitted.
        let afterOurs = bodyAfterReceivedHeader(delivered.data)
        let body = bodyAfterReceivedHeader(afterOurs)
        let postfixHeader = String(decoding: afterOurs.prefix(afterOurs.count - body.count), as: UTF8.self)
        let lines = postfixHeader.components(separatedBy: "\r\n")
        let by = "\tby \(PostfixInstance.hostName) (Postfix) with \(smtpUTF8 ? "UTF8SMTP" : "ESMTP") id \(queueID)"
        XCTAssertEqual(lines.count, 4, postfixHeader)
        XCTAssertEqual(lines.first, "Received: from client.example (unknown [127.0.0.1])", postfixHeader)
        if recipients.count == 1 {
            XCTAssertEqual(lines.dropFirst().first, by, postfixHeader)
            XCTAssertTrue(lines.dropFirst(2).first?.hasPrefix("\tfor <\(recipients[0])>; ") == true, postfixHeader)
        } else {
            XCTAssertEqual(lines.dropFirst().first, by + ";", postfixHeader)
        }
        XCTAssertEqual(
            String(decoding: body, as: UTF8.self),
            String(decoding: message, as: UTF8.self),
            "the message changed on the way"
        )
        XCTAssertEqual(body, message)

        // Postfix checked our certificate against its CA file and the name in smtp_tls_secure_cert_match. It logs
        // the delivery after our 250, which the sink's message precedes, through postlogd: so wait for the line.
        let sent = await relay.postfix.waitForLog("status=sent (250 2.0.0", timeout: .seconds(30))
        let log = relay.postfix.log()
        XCTAssertTrue(sent, log)
        XCTAssertTrue(log.contains("Verified TLS connection established to 127.0.0.1[127.0.0.1]:"), log)
        XCTAssertTrue(log.contains("\(queueID): to=<\(recipients[0])>, relay=127.0.0.1[127.0.0.1]:"), log)
        XCTAssertFalse(relay.server.logs.text.contains(SessionFixture.password), "a password reached our log")
    }

    func testPostfixRelaysThroughServerWithPLAINFromHashMap() async throws {
        try await assertRelayed(mechanism: "PLAIN", mapType: "hash")
    }

    func testPostfixRelaysThroughServerWithCRAMMD5FromTexthashMap() async throws {
        try await assertRelayed(mechanism: "CRAM-MD5", mapType: "texthash")
    }

    func testPostfixRelaysThroughServerWithDIGESTMD5FromTexthashMap() async throws {
        try await assertRelayed(mechanism: "DIGEST-MD5", mapType: "texthash")
    }

    /// An 8-bit UTF-8 body and a UTF-8 recipient: Postfix passes BODY=8BITMIME and SMTPUTF8 on (we offer both), so
    /// it neither converts the body to quoted-printable nor bounces the recipient.
    func testPostfixRelaysEightBitUTF8MessageToTwoRecipientsUnchanged() async throws {
        let lines = [
            "Date: Fri, 24 May 2002 11:44:42 -0400",
            "From: Alice <alice@example.org>",
            "To: Bob <bob@example.net>, Jos\u{E9} <jos\u{E9}@example.net>",
            "Subject: =?UTF-8?Q?gr=C3=BC=C3=9Fe?=",
            "Message-ID: <postfix-8bit-\(UUID().uuidString)@example.org>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: 8bit",
            "",
            "Gr\u{FC}\u{DF}e, Jos\u{E9}: na\u{EF}ve caf\u{E9} \u{2013} \u{65E5}\u{672C}\u{8A9E} \u{1F4EC}",
            ".\u{E9}",
        ]
        let message = Array(lines.joined(separator: "\r\n").utf8) + [13, 10]
        try await assertRelayed(
            mechanism: "PLAIN",
            mapType: "texthash",
            message: message,
            recipients: ["bob@example.net", "jos\u{E9}@example.net"],
            smtpUTF8: true
        )
    }

    /// A wrong password in Postfix's map: our server answers 535, Postfix defers the message and keeps it queued,
    /// and nothing reaches the sink.
    func testPostfixWithWrongPasswordIsRefusedAndDefers() async throws {
        let relay = try await startRelay(mechanism: "PLAIN", mapType: "texthash", password: "not-her-password")
        let queueID = try await submitToPostfix(Self.message("wrong-password"), port: relay.postfix.port)
        let deferred = "\(queueID): to=<bob@example.net>, relay=127.0.0.1[127.0.0.1]:"
        let found = await relay.postfix.waitForLog("status=deferred")
        let log = relay.postfix.log()
        XCTAssertTrue(found, "Postfix did not defer within 60 s:\n\(log)")
        XCTAssertTrue(log.contains("SASL authentication failed"), log)
        XCTAssertTrue(log.contains(deferred), log)
        XCTAssertTrue(log.contains("said: 535 5.7.8 Authentication credentials invalid"), log)
        XCTAssertTrue(log.contains("status=deferred"), log)

        let failure = relay.server.logs.all.first { $0.metadata["auth.result"] == "failure" }
        XCTAssertEqual(failure?.metadata["sasl.mechanism"], "PLAIN", relay.server.logs.text)
        XCTAssertEqual(failure?.metadata["sasl.user"], Self.login, relay.server.logs.text)
        XCTAssertTrue(relay.server.sink.messages.isEmpty, "a message arrived without authentication")
        XCTAssertFalse(relay.server.logs.text.contains("not-her-password"), "a password reached our log")

        let queue = try await relay.postfix.queueListing()
        XCTAssertTrue(queue.contains(queueID), queue)
        XCTAssertTrue(queue.contains("SASL authentication failed"), queue)
    }
}
