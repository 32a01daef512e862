import Foundation
import SASLClient
import ServerKitTestSupport
import XCTest

@testable import SMTPSubmission

#if canImport(Glibc)
import Glibc
#endif

final class RelaySinkTests: XCTestCase {
    /// A one-file SMTP/LMTP server in Python's standard library: answers from a JSON script, records every command
    /// line to `commands` and the raw (still dot-stuffed) message to `data`.
    private static let stubServer = #"""
        import json, os, signal, socketserver, sys, threading, time
        # Threads of Swift's executors block signals, and a child inherits the mask: undo it so SIGTERM works, and
        # never outlive a test run that forgot us.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, range(1, signal.NSIG))
        threading.Timer(120, os._exit, [0]).start()
        script = json.loads(sys.argv[1])
        commands_path, data_path = sys.argv[2], sys.argv[3]
        rcpt_replies = list(script.get("RCPT", []))

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, text):
                self.wfile.write(text.replace("\n", "\r\n").encode() + b"\r\n")
                self.wfile.flush()

            def handle(self):
                self.reply(script.get("greeting", "220 stub ESMTP"))
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    with open(commands_path, "ab") as log:
                        log.write(line)
                    verb = line.split(b" ")[0].split(b":")[0].strip().upper().decode()
                    if verb in script.get("hang", []):
                        time.sleep(30)
                        return
                    if verb == "QUIT":
                        self.reply("221 2.0.0 bye")
                        return
                    if verb == "RCPT":
                        self.reply(rcpt_replies.pop(0) if rcpt_replies else "250 2.1.5 ok")
                    elif verb == "DATA":
                        answer = script.get("DATA", "354 go ahead")
                        self.reply(answer)
                        if not answer.startswith("354"):
                            continue
                        data = b""
                        while True:
                            chunk = self.rfile.readline()
                            if not chunk:
                                return
                            if chunk == b".\r\n":
                                break
                            data += chunk
                        with open(data_path, "wb") as out:
                            out.write(data)
                        for final in script.get("final", ["250 2.0.0 queued as STUB1"]):
                            self.reply(final)
                    else:
                        default = "250-stub\n250-8BITMIME\n250-PIPELINING\n250 SIZE 10240000" if verb in ("EHLO", "LHLO") else "250 2.0.0 ok"
                        self.reply(script.get(verb, default))

        socketserver.TCPServer.allow_reuse_address = True
        with socketserver.ThreadingTCPServer((script.get("bind", "127.0.0.1"), 0), Handler) as server:
            print(server.server_address[1], flush=True)
            server.serve_forever()
        """#

    /// A running stub server and the files it records to.
    private struct Stub {
        var port: Int
        var commandsPath: String
        var dataPath: String

        var commands: [String] {
            ((try? String(contentsOfFile: commandsPath, encoding: .utf8)) ?? "")
                .components(separatedBy: "\r\n").filter { !$0.isEmpty }
        }

        var data: [UInt8]? { try? SinkTestSupport.bytes(of: dataPath) }
    }

    private func startStub(_ script: [String: Any] = [:]) throws -> Stub {
        let directory = try SinkTestSupport.makeDirectory(self)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let json = String(decoding: try JSONSerialization.data(withJSONObject: script), as: UTF8.self)
        process.arguments = ["python3", "-c", Self.stubServer, json, directory + "/commands", directory + "/data"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        addTeardownBlock {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw XCTSkip("python3 stub server did not start") }
            line += chunk
        }
        let port = try XCTUnwrap(
            Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        )
        return Stub(port: port, commandsPath: directory + "/commands", dataPath: directory + "/data")
    }

    private func deliver(
        to stub: Stub,
        lmtp: Bool = false,
        _ message: SubmittedMessage = SinkTestSupport.message(),
        timeout: Duration = .seconds(10)
    ) async -> MessageSinkError? {
        let sink = RelaySink(
            host: "127.0.0.1",
            port: stub.port,
            lmtp: lmtp,
            heloName: "submit.example.org",
            connectTimeout: .seconds(5),
            commandTimeout: timeout
        )
        do throws(MessageSinkError) {
            try await sink.deliver(message)
            return nil
        } catch {
            return error
        }
    }

    func testSMTPRelayGetsTheEnvelopeAndTheDotStuffedMessage() async throws {
        let stub = try startStub()
        let message = SinkTestSupport.message(parameters: ["BODY": "8BITMIME"])
        let error = await deliver(to: stub, message)
        XCTAssertNil(error)
        XCTAssertEqual(
            stub.commands,
            [
                "EHLO submit.example.org",
                "MAIL FROM:<alice@example.org> BODY=8BITMIME SIZE=\(message.data.count)",
                "RCPT TO:<bob@example.net>",
                "RCPT TO:<carol@example.net>",
                "DATA",
                "QUIT",
            ]
        )
        let stuffed = String(decoding: message.data, as: UTF8.self).replacingOccurrences(of: "\r\n.", with: "\r\n..")
        XCTAssertEqual(stub.data, Array(stuffed.utf8))
    }

    func testNullSenderAndMessageWithoutFinalLineEnding() async throws {
        let stub = try startStub()
        let error = await deliver(
            to: stub,
            SinkTestSupport.message(sender: "", data: Array("Subject: x\r\n\r\n.".utf8))
        )
        XCTAssertNil(error)
        XCTAssertTrue(stub.commands.contains { $0.hasPrefix("MAIL FROM:<> ") })
        XCTAssertEqual(stub.data, Array("Subject: x\r\n\r\n..\r\n".utf8))
    }

    func testRecipientRefused5xxIsPermanentAndNoMessageIsSent() async throws {
        let stub = try startStub(["RCPT": ["250 2.1.5 ok", "550 5.1.1 no such user"]])
        let error = await deliver(to: stub)
        XCTAssertEqual(error?.isPermanent, true)
        XCTAssertTrue(error?.reason.contains("carol@example.net") == true, error?.reason ?? "")
        XCTAssertTrue(error?.reason.contains("550") == true, error?.reason ?? "")
        XCTAssertFalse(stub.commands.contains("DATA"))
        XCTAssertNil(stub.data)
    }

    func testRecipientDeferred4xxIsTemporary() async throws {
        let stub = try startStub(["RCPT": ["451 4.3.0 try later"]])
        let error = await deliver(to: stub)
        XCTAssertEqual(error?.isTemporary, true)
        XCTAssertFalse(stub.commands.contains("DATA"))
    }

    func testMessageRefusedAfterDataIsPermanent() async throws {
        let stub = try startStub(["final": ["554 5.7.1 spam"]])
        let error = await deliver(to: stub)
        XCTAssertEqual(error?.isPermanent, true)
    }

    func testSenderDeferredIsTemporary() async throws {
        let stub = try startStub(["MAIL": "452 4.3.1 insufficient storage"])
        let error = await deliver(to: stub)
        XCTAssertEqual(error?.isTemporary, true)
        XCTAssertTrue(stub.commands.contains("RSET"))
    }

    func testGreetingRefusalIsTemporary() async throws {
        let stub = try startStub(["greeting": "554 5.3.2 not now"])
        let error = await deliver(to: stub)
        XCTAssertEqual(error?.isTemporary, true)
    }

    func testServerWithoutEHLOFallsBackToHELO() async throws {
        let stub = try startStub(["EHLO": "502 5.5.1 command not implemented"])
        let error = await deliver(to: stub, SinkTestSupport.message(parameters: ["BODY": "8BITMIME"]))
        XCTAssertNil(error)
        XCTAssertEqual(
            Array(stub.commands.prefix(3)),
            ["EHLO submit.example.org", "HELO submit.example.org", "MAIL FROM:<alice@example.org>"]
        )
    }

    func testLMTPSpeaksLHLOAndSucceedsWhenEveryRecipientIsAccepted() async throws {
        let stub = try startStub(["final": ["250 2.0.0 bob ok", "250 2.0.0 carol ok"]])
        let error = await deliver(to: stub, lmtp: true)
        XCTAssertNil(error)
        XCTAssertEqual(stub.commands.first, "LHLO submit.example.org")
    }

    func testLMTPOneRecipientDeferredIsTemporary() async throws {
        let stub = try startStub(["final": ["250 2.0.0 bob ok", "452 4.2.2 carol over quota"]])
        let error = await deliver(to: stub, lmtp: true)
        XCTAssertEqual(error?.isTemporary, true)
        XCTAssertTrue(error?.reason.contains("452") == true, error?.reason ?? "")
    }

    func testLMTPOneRecipientRefusedIsPermanent() async throws {
        let stub = try startStub(["final": ["550 5.1.1 bob unknown", "250 2.0.0 carol ok"]])
        let error = await deliver(to: stub, lmtp: true)
        XCTAssertEqual(error?.isPermanent, true)
    }

    func testNoServerListeningIsTemporary() async throws {
        // Nothing listens on port 1 (tcpmux) of the loopback interface.
        let stub = try startStub()
        let closed = Stub(port: 1, commandsPath: stub.commandsPath, dataPath: stub.dataPath)
        let error = await deliver(to: closed)
        XCTAssertEqual(error?.isTemporary, true)
    }

    func testServerThatStopsAnsweringTimesOut() async throws {
        let stub = try startStub(["hang": ["DATA"]])
        let started = Date()
        let error = await deliver(to: stub, timeout: .milliseconds(400))
        XCTAssertEqual(error?.isTemporary, true)
        XCTAssertTrue(error?.reason.contains("timed out") == true, error?.reason ?? "")
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
    }

    func testQuotedLocalPartWithASpaceIsForwardedAsIs() async throws {
        let stub = try startStub()
        let error = await deliver(to: stub, SinkTestSupport.message(recipients: ["\"john smith\"@example.net"]))
        XCTAssertNil(error)
        XCTAssertTrue(stub.commands.contains("RCPT TO:<\"john smith\"@example.net>"), "\(stub.commands)")
    }

    func testInjectionAddressIsRefusedBeforeConnecting() async throws {
        let stub = try startStub()
        for recipient in ["bob@example.net>\r\nRCPT TO:<eve@x", "bob@example.net> NOTIFY=NEVER", ""] {
            let error = await deliver(to: stub, SinkTestSupport.message(recipients: [recipient]))
            XCTAssertEqual(error?.isPermanent, true, recipient)
        }
        XCTAssertEqual(stub.commands, [])
    }

    // MARK: - TLS and AUTH to the next hop

    /// On the code before relay TLS this message went out in the clear to the address of this machine's network
    /// interface (and the stub took it).
    func testPlainRelayToAnAddressOffLoopbackIsRefusedAndNothingIsSent() async throws {
        let address = try XCTUnwrap(Self.nonLoopbackAddress(), "no IPv4 address beside the loopback one")
        let stub = try startStub(["bind": address])
        let sink = RelaySink(host: address, port: stub.port, connectTimeout: .seconds(5), commandTimeout: .seconds(5))
        let error = await deliverCatching(sink)
        XCTAssertEqual(error?.isTemporary, true, "\(String(describing: error))")
        XCTAssertTrue(error?.reason.contains("not a loopback address") == true, error?.reason ?? "")
        XCTAssertEqual(stub.commands, [])
        XCTAssertNil(stub.data)
    }

    func testRelayThroughSTARTTLSWithAUTHToOurServerArrivesByteExact() async throws {
        let server = try await TestServer.start(kinds: [.submission])
        addTeardownBlock { await server.stop() }
        let message = SinkTestSupport.message(data: testMessage(subject: "relayed", messageID: "relay.1@example.org"))
        for name in ["mail.example.org", nil] {
            let sink = try relaySink(to: server, trusting: TestCertificate.files().certificatePath, name: name)
            let error = await deliverCatching(sink, message)
            XCTAssertNil(error, "\(String(describing: error))")
        }
        let received = await server.sink.waitForMessages(2)
        XCTAssertEqual(received.count, 2)
        for delivered in received {
            XCTAssertEqual(bodyAfterReceivedHeader(delivered.data), message.data)
            XCTAssertEqual(delivered.authenticatedUser, "alice@example.org")
            XCTAssertEqual(delivered.sender, message.sender)
            XCTAssertEqual(delivered.recipients, message.recipients)
        }
        XCTAssertTrue(server.logs.text.contains("auth.result=success"), server.logs.text)
        XCTAssertTrue(server.logs.text.contains("smtp.tls=yes"), server.logs.text)
        XCTAssertFalse(server.logs.text.contains(SessionFixture.password))
    }

    func testRelayFallsBackToAUTHLOGINWhenPLAINIsNotOffered() async throws {
        let server = try await TestServer.start(
            kinds: [.submission],
            sessionConfiguration: .serverTest(mechanisms: ["LOGIN", "SCRAM-SHA-256"])
        )
        addTeardownBlock { await server.stop() }
        let sink = try relaySink(to: server, trusting: TestCertificate.files().certificatePath)
        let error = await deliverCatching(sink)
        XCTAssertNil(error, "\(String(describing: error))")
        let received = await server.sink.waitForMessages(1)
        XCTAssertEqual(received.first?.authenticatedUser, "alice@example.org")
    }

    func testServerWhoseCertificateNamesAnotherHostGetsNothing() async throws {
        // NIOSSL alone accepts it: its IP address entry matches the address connected to.
        try await assertTLSRefused(
            trusting: TestCertificate.files().certificatePath,
            name: "relay.example.net",
            because: "does not name relay.example.net"
        )
    }

    func testServerSignedByAnUnknownAuthorityGetsNothing() async throws {
        // The system's roots do not hold the test's self-signed certificate.
        try await assertTLSRefused(trusting: nil, name: "mail.example.org", because: "CERTIFICATE_VERIFY_FAILED")
    }

    /// A relay to our server that trusts `caPath` and checks `name` fails, temporarily, for `reason`, and the server
    /// gets no AUTH and no message.
    private func assertTLSRefused(trusting caPath: String?, name: String, because reason: String) async throws {
        let server = try await TestServer.start(kinds: [.submission])
        addTeardownBlock { await server.stop() }
        let error = await deliverCatching(try relaySink(to: server, trusting: caPath, name: name))
        XCTAssertEqual(error?.isTemporary, true, "\(String(describing: error))")
        XCTAssertTrue(error?.reason.contains("TLS failed") == true, error?.reason ?? "")
        XCTAssertTrue(error?.reason.contains(reason) == true, error?.reason ?? "")
        try await Task.sleep(for: .milliseconds(200))
        XCTAssertEqual(server.sink.messages.count, 0)
        XCTAssertFalse(server.logs.text.contains("auth.result"), server.logs.text)
    }

    func testWrongRelayPasswordIsTemporaryAndNeverShown() async throws {
        let server = try await TestServer.start(kinds: [.submission])
        addTeardownBlock { await server.stop() }
        let secret = "not-alices-password-8731"
        let sink = try relaySink(
            to: server,
            trusting: TestCertificate.files().certificatePath,
            credentials: SASLClientCredentials(user: "alice", password: secret)
        )
        let error = await deliverCatching(sink)
        XCTAssertEqual(error?.isTemporary, true, "\(String(describing: error))")
        XCTAssertTrue(error?.reason.contains("535") == true, error?.reason ?? "")
        XCTAssertFalse(error?.reason.contains(secret) == true)
        XCTAssertEqual(server.sink.messages.count, 0)
    }

    func testServerWithoutSTARTTLSGetsNoCommandBeyondEHLO() async throws {
        let stub = try startStub()
        let tls = try SMTPClientTLS.verifying(
            trustedCertificatesPEM: SinkTestSupport.bytes(of: TestCertificate.files().certificatePath),
            serverHostname: nil
        )
        let sink = RelaySink(
            host: "127.0.0.1",
            port: stub.port,
            heloName: "submit.example.org",
            connectTimeout: .seconds(5),
            commandTimeout: .seconds(5),
            tls: tls,
            credentials: SASLClientCredentials(user: "alice", password: SessionFixture.password)
        )
        let error = await deliverCatching(sink)
        XCTAssertEqual(error?.isTemporary, true, "\(String(describing: error))")
        XCTAssertTrue(error?.reason.contains("does not offer STARTTLS") == true, error?.reason ?? "")
        XCTAssertEqual(stub.commands, ["EHLO submit.example.org", "QUIT"])
    }

    /// A sink relaying to `server`'s first listener (STARTTLS) as Alice, trusting the certificate at `caPath` (the
    /// system's roots when `nil`) and checking `name` (the address when `nil`).
    private func relaySink(
        to server: TestServer,
        trusting caPath: String?,
        name: String? = nil,
        credentials: SASLClientCredentials = SASLClientCredentials(user: "alice", password: SessionFixture.password)
    ) throws -> RelaySink {
        let tls = try SMTPClientTLS.verifying(
            trustedCertificatesPEM: try caPath.map(SinkTestSupport.bytes(of:)),
            serverHostname: name
        )
        return RelaySink(
            host: "127.0.0.1",
            port: server.port(0),
            heloName: "submit.example.org",
            connectTimeout: .seconds(5),
            commandTimeout: .seconds(10),
            tls: tls,
            credentials: credentials
        )
    }

    private func deliverCatching(
        _ sink: RelaySink,
        _ message: SubmittedMessage = SinkTestSupport.message()
    ) async -> MessageSinkError? {
        do throws(MessageSinkError) {
            try await sink.deliver(message)
            return nil
        } catch {
            return error
        }
    }

    /// An IPv4 address of this machine that is not on the loopback interface (traffic to it stays on the machine).
    private static func nonLoopbackAddress() -> String? {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return nil }
        defer { freeifaddrs(list) }
        var entry = list
        while let current = entry {
            defer { entry = current.pointee.ifa_next }
            guard let address = current.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET) else {
                continue
            }
            var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            guard
                getnameinfo(
                    address,
                    socklen_t(MemoryLayout<sockaddr_in>.size),
                    &host,
                    socklen_t(host.count),
                    nil,
                    0,
                    NI_NUMERICHOST
                ) == 0
            else { continue }
            let text = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if !text.hasPrefix("127.") { return text }
        }
        return nil
    }
}
