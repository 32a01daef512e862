import Foundation
import ServerKitTestSupport
import XCTest

@testable import SMTPSubmission

/// BDAT from a real client over a real socket: Python's smtplib has no BDAT, so a small script speaks SMTP itself
/// with the `ssl` module after STARTTLS. Skipped when python3 is not installed; `.ci/run` installs it.
final class BDATClientTests: XCTestCase {
    /// Connects, STARTTLS, AUTH PLAIN, then pipelines MAIL, RCPT and every chunk in one write (a chunk boundary splits
    /// a CRLF), and prints each reply line.
    private static let script = """
        import socket, ssl, sys
        port, plain, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
        message = open(path, 'rb').read()

        def reply(stream):
            lines = []
            while True:
                line = stream.readline()
                if not line:
                    sys.exit('connection closed')
                lines.append(line.decode().rstrip('\\r\\n'))
                if line[3:4] != b'-':
                    print(lines[-1])
                    return lines

        raw = socket.create_connection(('127.0.0.1', port), timeout=30)
        stream = raw.makefile('rb')
        reply(stream)
        raw.sendall(b'EHLO client.example\\r\\n')
        reply(stream)
        raw.sendall(b'STARTTLS\\r\\n')
        reply(stream)
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        tls = context.wrap_socket(raw, server_hostname='localhost')
        stream = tls.makefile('rb')
        tls.sendall(b'EHLO client.example\\r\\n')
        if '250-CHUNKING' not in reply(stream):
            sys.exit('no CHUNKING')
        tls.sendall(b'AUTH PLAIN ' + plain.encode() + b'\\r\\n')
        reply(stream)
        split = message.index(b'\\r\\n') + 1
        chunks = [message[:split], message[split:-7], message[-7:]]
        pipeline = b'MAIL FROM:<alice@example.org>\\r\\nRCPT TO:<bob@example.net>\\r\\n'
        for index, chunk in enumerate(chunks):
            last = b' LAST' if index == len(chunks) - 1 else b''
            pipeline += b'BDAT %d%s\\r\\n' % (len(chunk), last) + chunk
        tls.sendall(pipeline)
        for _ in range(2 + len(chunks)):
            reply(stream)
        tls.sendall(b'QUIT\\r\\n')
        reply(stream)
        """

    func testPipelinedChunksArriveByteExactOverSTARTTLS() async throws {
        guard let python = ProcessRunner.which("python3") else { throw XCTSkip("python3 is not installed") }
        let server = try await TestServer.start()
        addTeardownBlock { await server.stop() }
        // Dots at line starts and a CR before a chunk boundary: neither may change on the way.
        let message = Array(
            "Subject: chunks\r\n\r\n.a line that starts with a dot\r\n.\r\n\u{00e9}t\u{00e9} in UTF-8\r\nend\r\n".utf8
        )
        let directory = try TestCertificate.files().directory
        let path = directory.appendingPathComponent("\(UUID().uuidString)-bdat.eml").path
        try Data(message).write(to: URL(fileURLWithPath: path))
        let result = await runProcess(
            python,
            ["-c", Self.script, String(server.port(0)), SessionFixture.plain("alice", SessionFixture.password), path]
        )
        let output = "status \(result.status)\n\(result.standardOutput)\n\(result.standardError)\n\(server.logs.text)"
        let replies = result.standardOutput.split(separator: "\n").map(String.init).suffix(6)
        XCTAssertEqual(
            Array(replies.prefix(4)),
            [
                "250 2.1.0 Sender ok", "250 2.1.5 Recipient ok", "250 2.0.0 Ok: 16 octets received",
                "250 2.0.0 Ok: \(message.count - 16 - 7) octets received",
            ],
            output
        )
        XCTAssertTrue(replies.dropFirst(4).first?.hasPrefix("250 2.0.0 Ok: queued as ") == true, output)
        XCTAssertEqual(replies.last, "221 2.0.0 Bye", output)
        let messages = await server.sink.waitForMessages(1)
        XCTAssertEqual(messages.count, 1, output)
        XCTAssertEqual(messages.first.map { bodyAfterReceivedHeader($0.data) }, message)
        XCTAssertEqual(messages.first?.sender, "alice@example.org")
        XCTAssertEqual(messages.first?.recipients, ["bob@example.net"])
    }
}
