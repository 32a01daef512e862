import Foundation
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
        with socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler) as server:
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
}
