import Foundation
import SASLDB
import ServerKitTestSupport
import XCTest

@testable import SMTPSubmission

/// Real mail clients against a server started in-process on 127.0.0.1 (ports chosen by the system), with a temporary
/// self-signed certificate and an in-memory credential store. Each message must reach the sink byte for byte.
///
/// A client that is not installed skips its test with the reason; `.ci/run` installs them all.
final class RealClientTests: XCTestCase {
    private static let login = "alice@example.org"
    private static let password = SessionFixture.password

    private static func message(_ tag: String) -> [UInt8] {
        testMessage(subject: "test via \(tag)", messageID: "\(tag)-\(UUID().uuidString)@example.org")
    }

    private func tool(_ name: String) throws -> String {
        guard let path = ProcessRunner.which(name) else { throw XCTSkip("\(name) is not installed") }
        return path
    }

    private func writeTemporary(_ bytes: [UInt8], name: String) throws -> String {
        let directory = try TestCertificate.files().directory
        let url = directory.appendingPathComponent("\(UUID().uuidString)-\(name)")
        try Data(bytes).write(to: url)
        return url.path
    }

    /// Checks the one message the sink got: envelope, authenticated user and the bytes after `Received:`.
    private func assertDelivered(
        _ server: TestServer,
        _ expected: [UInt8],
        by client: String,
        output: ProcessRunner.Result,
        file: StaticString = #filePath,
        line: UInt = #line
    ) async {
        let messages = await server.sink.waitForMessages(1)
        guard let message = messages.first else {
            XCTFail(
                "\(client) delivered nothing. status \(output.status) timedOut \(output.timedOut)\n"
                    + "stdout: \(output.standardOutput)\nstderr: \(output.standardError)\nlog:\n\(server.logs.text)",
                file: file,
                line: line
            )
            return
        }
        XCTAssertEqual(messages.count, 1, file: file, line: line)
        XCTAssertEqual(message.sender, "alice@example.org", file: file, line: line)
        XCTAssertEqual(message.recipients, ["bob@example.net"], file: file, line: line)
        XCTAssertEqual(message.authenticatedUser, "alice@example.org", file: file, line: line)
        let body = bodyAfterReceivedHeader(message.data)
        XCTAssertEqual(
            String(decoding: body, as: UTF8.self),
            String(decoding: expected, as: UTF8.self),
            "\(client): the message changed on the way",
            file: file,
            line: line
        )
        XCTAssertEqual(body, expected, file: file, line: line)
        XCTAssertFalse(server.logs.text.contains(Self.password), "a password reached the log", file: file, line: line)
    }

    private func mechanismUsed(_ server: TestServer) -> String? {
        server.logs.all.first { $0.metadata["auth.result"] == "success" }?.metadata["sasl.mechanism"]
    }

    // MARK: - openssl s_client

    func testOpenSSLSClientSTARTTLSScriptedDialogue() async throws {
        let openssl = try tool("openssl")
        let server = try await TestServer.start()
        addTeardownBlock { await server.stop() }
        let message = Self.message("openssl")
        // -crlf turns each LF into CRLF; the script dot-stuffs itself, as a client must.
        let text = String(decoding: message, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
        let stuffed = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            .map { $0.hasPrefix(".") ? "." + $0 : String($0) }.joined(separator: "\n")
        let plain = SessionFixture.plain(Self.login, Self.password)
        let script =
            "EHLO client.example\nAUTH PLAIN \(plain)\nMAIL FROM:<alice@example.org>\n"
            + "RCPT TO:<bob@example.net>\nDATA\n\(stuffed)\n.\nQUIT\n"
        let result = await runProcess(
            openssl,
            ["s_client", "-starttls", "smtp", "-crlf", "-quiet", "-connect", "127.0.0.1:\(server.port(0))"],
            input: Data(script.utf8)
        )
        await assertDelivered(server, message, by: "openssl s_client", output: result)
        XCTAssertTrue(result.standardOutput.contains("235 2.7.0"), result.standardOutput)
        XCTAssertTrue(result.standardOutput.contains("221 2.0.0"), result.standardOutput)
    }

    func testOpenSSLSClientImplicitTLS() async throws {
        let openssl = try tool("openssl")
        let server = try await TestServer.start()
        addTeardownBlock { await server.stop() }
        let result = await runProcess(
            openssl,
            ["s_client", "-crlf", "-quiet", "-connect", "127.0.0.1:\(server.port(1))"],
            input: Data("EHLO client.example\nQUIT\n".utf8)
        )
        XCTAssertTrue(result.standardOutput.hasPrefix("220 mail.example.org ESMTP"), result.standardOutput)
        XCTAssertTrue(result.standardOutput.contains("AUTH SCRAM-SHA-256"), result.standardOutput)
        XCTAssertTrue(result.standardOutput.contains("221 2.0.0"), result.standardOutput)
    }

    /// TLS 1.2 offers forward-secret AEAD suites only: RSA key exchange and CBC suites are refused by default.
    func testOpenSSLSClientFindsOnlyForwardSecretAEADSuitesInTLS12() async throws {
        let openssl = try tool("openssl")
        let server = try await TestServer.start()
        addTeardownBlock { await server.stop() }
        let cases: [(cipher: String, accepted: Bool)] = [
            ("AES256-SHA", false), ("AES128-GCM-SHA256", false), ("ECDHE-RSA-AES128-SHA", false),
            ("ECDHE-RSA-AES128-GCM-SHA256", true), ("ECDHE-RSA-CHACHA20-POLY1305", true),
        ]
        for (cipher, accepted) in cases {
            let result = await runProcess(
                openssl,
                [
                    "s_client", "-brief", "-connect", "127.0.0.1:\(server.port(1))", "-tls1_2",
                    "-cipher", cipher + ":@SECLEVEL=0",
                ],
                input: Data("QUIT\r\n".utf8)
            )
            let output = result.standardOutput + result.standardError
            if accepted {
                XCTAssertEqual(result.status, 0, "\(cipher): \(output)")
                XCTAssertTrue(output.contains("Ciphersuite: \(cipher)"), "\(cipher): \(output)")
            } else {
                XCTAssertNotEqual(result.status, 0, "\(cipher) was accepted: \(output)")
                XCTAssertFalse(output.contains("Ciphersuite: \(cipher)"), "\(cipher): \(output)")
            }
        }
    }

    // MARK: - Python smtplib

    private func python(_ script: String, port: Int, message: [UInt8]) async throws -> ProcessRunner.Result {
        let python = try tool("python3")
        let path = try writeTemporary(message, name: "message.eml")
        return await runProcess(
            python,
            ["-c", script, String(port), Self.login, Self.password, path],
            timeout: 60
        )
    }

    func testPythonSmtplibSTARTTLSLoginSendmail() async throws {
        let server = try await TestServer.start()
        addTeardownBlock { await server.stop() }
        let message = Self.message("smtplib")
        let script = """
            import smtplib, ssl, sys
            port, user, password, path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            with smtplib.SMTP('127.0.0.1', port, timeout=30) as smtp:
                smtp.ehlo('client.example')
                smtp.starttls(context=context)
                smtp.ehlo('client.example')
                smtp.login(user, password)
                smtp.sendmail('alice@example.org', ['bob@example.net'], open(path, 'rb').read())
            print('sent')
            """
        let result = try await python(script, port: server.port(0), message: message)
        await assertDelivered(server, message, by: "smtplib", output: result)
        XCTAssertEqual(mechanismUsed(server), "CRAM-MD5", "smtplib prefers CRAM-MD5")
    }

    func testPythonSmtplibImplicitTLSWithLOGIN() async throws {
        let server = try await TestServer.start()
        addTeardownBlock { await server.stop() }
        let message = Self.message("smtplib-ssl")
        let script = """
            import smtplib, ssl, sys
            port, user, password, path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            with smtplib.SMTP_SSL('127.0.0.1', port, timeout=30, context=context) as smtp:
                smtp.ehlo('client.example')
                smtp.user, smtp.password = user, password
                smtp.auth('LOGIN', smtp.auth_login, initial_response_ok=False)
                smtp.sendmail('alice@example.org', ['bob@example.net'], open(path, 'rb').read())
            print('sent')
            """
        let result = try await python(script, port: server.port(1), message: message)
        await assertDelivered(server, message, by: "smtplib SMTP_SSL", output: result)
        XCTAssertEqual(mechanismUsed(server), "LOGIN")
    }

    func testPythonSmtplibWrongPasswordGets535AndIsDelayed() async throws {
        let server = try await TestServer.start()
        addTeardownBlock { await server.stop() }
        let script = """
            import smtplib, ssl, sys, time
            port = int(sys.argv[1])
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            with smtplib.SMTP('127.0.0.1', port, timeout=30) as smtp:
                smtp.starttls(context=context)
                start = time.monotonic()
                try:
                    smtp.login('alice@example.org', 'not-her-password')
                except smtplib.SMTPAuthenticationError as error:
                    print('refused', error.smtp_code, round(time.monotonic() - start, 1))
            """
        let result = try await python(script, port: server.port(0), message: [])
        XCTAssertTrue(result.standardOutput.hasPrefix("refused 535"), result.standardOutput + result.standardError)
        let seconds =
            Double(
                result.standardOutput.split(separator: " ").last.map(String.init)?.trimmingCharacters(
                    in: .whitespacesAndNewlines
                ) ?? ""
            ) ?? 0
        XCTAssertGreaterThanOrEqual(seconds, 0.9, "the 535 comes after the pause")
        // smtplib tries CRAM-MD5, then PLAIN, then LOGIN: PLAIN and LOGIN carry the same credential, counted once.
        XCTAssertEqual(server.server.authFailures.failureCount(for: "127.0.0.1"), 2)
    }

    /// The Postfix peer stalls ≈ 40 ms per TLS 1.3 session (session tickets meet delayed ACK without TCP_NODELAY);
    /// this server sets TCP_NODELAY, so a whole STARTTLS + AUTH session takes a few milliseconds.
    func testTLS13SessionsDoNotStallOnDelayedACK() async throws {
        let server = try await TestServer.start()
        addTeardownBlock { await server.stop() }
        let script = """
            import smtplib, ssl, sys, time
            port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            context.minimum_version = ssl.TLSVersion.TLSv1_3
            times = []
            for _ in range(21):
                start = time.monotonic()
                with smtplib.SMTP('127.0.0.1', port, timeout=30) as smtp:
                    smtp.ehlo('client.example')
                    smtp.starttls(context=context)
                    smtp.ehlo('client.example')
                    smtp.user, smtp.password = user, password
                    smtp.auth('PLAIN', smtp.auth_plain)
                times.append((time.monotonic() - start) * 1000)
            times.sort()
            print(round(times[len(times) // 2], 1))
            """
        let result = try await python(script, port: server.port(0), message: [])
        let median = Double(result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)) ?? .infinity
        XCTAssertLessThan(median, 30, "median session \(median) ms: \(result.standardError)")
    }

    // MARK: - curl

    private func curl(_ url: String, message: [UInt8], options: [String] = []) async throws -> ProcessRunner.Result {
        let curl = try tool("curl")
        let path = try writeTemporary(message, name: "curl.eml")
        return await runProcess(
            curl,
            [
                "--silent", "--show-error", "--max-time", "30", "--insecure", url,
                "--mail-from", "alice@example.org", "--mail-rcpt", "bob@example.net",
                "--upload-file", path, "--user", "\(Self.login):\(Self.password)",
            ] + options
        )
    }

    func testCurlSTARTTLSRequired() async throws {
        let server = try await TestServer.start()
        addTeardownBlock { await server.stop() }
        let message = Self.message("curl")
        let curl = try tool("curl")
        let path = try writeTemporary(message, name: "curl.eml")
        let result = await runProcess(
            curl,
            [
                "--silent", "--show-error", "--max-time", "30", "--insecure", "--ssl-reqd",
                "smtp://127.0.0.1:\(server.port(0))", "--mail-from", "alice@example.org",
                "--mail-rcpt", "bob@example.net", "--upload-file", path, "--user", "\(Self.login):\(Self.password)",
            ]
        )
        await assertDelivered(server, message, by: "curl smtp:// --ssl-reqd", output: result)
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertEqual(mechanismUsed(server), "DIGEST-MD5", "curl picks the strongest mechanism it has")
    }

    func testCurlImplicitTLS() async throws {
        let server = try await TestServer.start()
        addTeardownBlock { await server.stop() }
        let message = Self.message("curl-smtps")
        let result = try await curl(
            "smtps://127.0.0.1:\(server.port(1))",
            message: message,
            options: ["--login-options", "AUTH=PLAIN"]
        )
        await assertDelivered(server, message, by: "curl smtps://", output: result)
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertEqual(mechanismUsed(server), "PLAIN")
    }

    func testCurlLargeMessageArrivesIntact() async throws {
        let server = try await TestServer.start()
        addTeardownBlock { await server.stop() }
        var message = Self.message("curl-large")
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/.".utf8)
        for _ in 0..<50_000 {
            message += (0..<76).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] }
            message += [13, 10]
        }
        let result = try await curl(
            "smtp://127.0.0.1:\(server.port(0))",
            message: message,
            options: ["--ssl-reqd", "--login-options", "AUTH=PLAIN"]
        )
        await assertDelivered(server, message, by: "curl, 3.9 MB", output: result)
    }

    // MARK: - swaks

    private func swaks(_ arguments: [String], message: [UInt8]) async throws -> ProcessRunner.Result {
        let swaks = try tool("swaks")
        // swaks always sends CRLF before the final dot, so the file leaves out the message's last CRLF.
        let path = try writeTemporary(Array(message.dropLast(2)), name: "swaks.eml")
        return await runProcess(
            swaks,
            [
                "--server", "127.0.0.1", "--ehlo", "client.example", "--timeout", "30",
                "--from", "alice@example.org", "--to", "bob@example.net",
                "--auth-user", Self.login, "--auth-password", Self.password, "--data", "@" + path,
            ] + arguments
        )
    }

    private func swaksSTARTTLS(mechanism: String) async throws {
        let server = try await TestServer.start()
        addTeardownBlock { await server.stop() }
        let message = Self.message("swaks-\(mechanism)")
        let result = try await swaks(["--port", "\(server.port(0))", "--tls", "--auth", mechanism], message: message)
        await assertDelivered(server, message, by: "swaks --tls --auth \(mechanism)", output: result)
        XCTAssertEqual(mechanismUsed(server), mechanism, result.standardOutput)
    }

    func testSwaksSTARTTLSWithPLAIN() async throws { try await swaksSTARTTLS(mechanism: "PLAIN") }

    func testSwaksSTARTTLSWithLOGIN() async throws { try await swaksSTARTTLS(mechanism: "LOGIN") }

    func testSwaksSTARTTLSWithCRAMMD5() async throws { try await swaksSTARTTLS(mechanism: "CRAM-MD5") }

    func testSwaksSTARTTLSWithDIGESTMD5() async throws { try await swaksSTARTTLS(mechanism: "DIGEST-MD5") }

    func testSwaksImplicitTLS() async throws {
        let server = try await TestServer.start()
        addTeardownBlock { await server.stop() }
        let message = Self.message("swaks-tlsc")
        let result = try await swaks(["--port", "\(server.port(1))", "--tlsc", "--auth", "PLAIN"], message: message)
        await assertDelivered(server, message, by: "swaks --tlsc", output: result)
    }

    // MARK: - msmtp

    private func msmtp(_ arguments: [String], message: [UInt8]) async throws -> ProcessRunner.Result {
        let msmtp = try tool("msmtp")
        let passwordFile = try writeTemporary(Array(Self.password.utf8), name: "password")
        return await runProcess(
            msmtp,
            [
                "--file=/dev/null", "--host=127.0.0.1", "--tls-certcheck=off", "--domain=client.example",
                "--user=\(Self.login)", "--passwordeval=cat '\(passwordFile)'", "--from=alice@example.org",
                "--timeout=30",
            ] + arguments + ["bob@example.net"],
            input: Data(message)
        )
    }

    func testMsmtpSTARTTLS() async throws {
        let server = try await TestServer.start()
        addTeardownBlock { await server.stop() }
        let message = Self.message("msmtp")
        let result = try await msmtp(
            ["--port=\(server.port(0))", "--tls=on", "--tls-starttls=on", "--auth=plain"],
            message: message
        )
        await assertDelivered(server, message, by: "msmtp STARTTLS", output: result)
        XCTAssertEqual(result.status, 0, result.standardError)
    }

    func testMsmtpSTARTTLSWithSCRAMSHA1() async throws {
        let server = try await TestServer.start()
        addTeardownBlock { await server.stop() }
        let message = Self.message("msmtp-scram-sha-1")
        let result = try await msmtp(
            ["--port=\(server.port(0))", "--tls=on", "--tls-starttls=on", "--auth=scram-sha-1"],
            message: message
        )
        await assertDelivered(server, message, by: "msmtp SCRAM-SHA-1", output: result)
        XCTAssertEqual(mechanismUsed(server), "SCRAM-SHA-1")
    }

    func testMsmtpImplicitTLSWithSCRAMSHA256() async throws {
        let server = try await TestServer.start()
        addTeardownBlock { await server.stop() }
        let message = Self.message("msmtp-tls")
        let result = try await msmtp(
            ["--port=\(server.port(1))", "--tls=on", "--tls-starttls=off", "--auth=scram-sha-256"],
            message: message
        )
        await assertDelivered(server, message, by: "msmtp implicit TLS", output: result)
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertEqual(mechanismUsed(server), "SCRAM-SHA-256")
    }

    // MARK: - GNU SASL

    /// `gsasl --smtp` sends STARTTLS straight after the greeting, before EHLO, then authenticates (no message).
    private func gsaslSTARTTLS(mechanism: String) async throws {
        let gsasl = try tool("gsasl")
        let server = try await TestServer.start()
        addTeardownBlock { await server.stop() }
        let certificate = try TestCertificate.files().certificatePath
        let result = await runProcess(
            gsasl,
            [
                "--smtp", "--connect", "127.0.0.1:\(server.port(0))", "--hostname", "localhost", "--starttls",
                "--x509-ca-file", certificate, "--mechanism", mechanism, "--authentication-id", Self.login,
                "--password", Self.password, "--quiet", "--no-cb",
            ],
            timeout: 30
        )
        XCTAssertEqual(
            result.status,
            0,
            "\(mechanism): \(result.standardOutput)\n\(result.standardError)\n\(server.logs.text)"
        )
        XCTAssertEqual(mechanismUsed(server), mechanism, server.logs.text)
    }

    func testGsaslSTARTTLSBeforeEHLOWithPLAIN() async throws { try await gsaslSTARTTLS(mechanism: "PLAIN") }

    func testGsaslSTARTTLSBeforeEHLOWithLOGIN() async throws { try await gsaslSTARTTLS(mechanism: "LOGIN") }

    func testGsaslSTARTTLSBeforeEHLOWithSCRAMSHA1() async throws { try await gsaslSTARTTLS(mechanism: "SCRAM-SHA-1") }

    func testGsaslSTARTTLSBeforeEHLOWithSCRAMSHA256() async throws {
        try await gsaslSTARTTLS(mechanism: "SCRAM-SHA-256")
    }
}
