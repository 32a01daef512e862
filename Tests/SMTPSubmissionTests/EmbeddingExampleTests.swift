import Foundation
import ServerKitTestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The embedding example (`Examples/EmbeddedSubmission`) run as its documentation says: the built binary with a
/// certificate made by `openssl req`, on loopback, and swaks submitting a message over STARTTLS with AUTH PLAIN.
final class EmbeddingExampleTests: XCTestCase {
    /// The example's process, its standard output collected in a file.
    private final class RunningExample: Sendable {
        let process = Process()
        let output: URL

        init(_ path: String, arguments: [String], output: URL) throws {
            self.output = output
            guard FileManager.default.createFile(atPath: output.path, contents: nil) else {
                throw TestSupportError("cannot create \(output.path)")
            }
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = arguments
            process.standardOutput = try FileHandle(forWritingTo: output)
            process.standardError = FileHandle.nullDevice
            try process.run()
        }

        var text: String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }

        /// Waits (bounded) until the output has a line starting with `prefix`, and returns that line.
        func line(startingWith prefix: String, timeout: Duration = .seconds(30)) async -> String? {
            let end = ContinuousClock.now + timeout
            while ContinuousClock.now < end && process.isRunning {
                if let line = text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) { return String(line) }
                try? await Task.sleep(for: .milliseconds(50))
            }
            return text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }).map(String.init)
        }

        /// Stops the example as an operator does (SIGTERM), and kills it if it has not ended within a few seconds.
        func stop() async {
            guard process.isRunning else { return }
            process.terminate()
            let end = ContinuousClock.now + .seconds(10)
            while process.isRunning && ContinuousClock.now < end { try? await Task.sleep(for: .milliseconds(50)) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
    }

    func testSwaksSubmitsOverSTARTTLSWithPLAINAndTheExamplesSinkSeesTheMessage() async throws {
        let example = try builtExecutable("EmbeddedSubmission", override: "EMBEDDED_SUBMISSION")
        guard let swaks = ProcessRunner.which("swaks") else { throw XCTSkip("swaks is not installed") }
        let files = try TestCertificate.files()
        let running = try RunningExample(
            example,
            arguments: [files.certificatePath, files.keyPath, "0"],
            output: files.directory.appendingPathComponent("example-\(UUID().uuidString).out")
        )
        addTeardownBlock { await running.stop() }

        let listening = await running.line(startingWith: "listening on port ")
        let port = try XCTUnwrap(listening?.split(separator: " ").last.map(String.init), running.text)
        let result = await runProcess(
            swaks,
            [
                "--server", "127.0.0.1", "--port", port, "--ehlo", "client.example", "--timeout", "30",
                "--tls", "--auth", "PLAIN", "--auth-user", "alice@example.org", "--auth-password", "example-password",
                "--from", "alice@example.org", "--to", "bob@example.net",
            ]
        )
        XCTAssertEqual(result.status, 0, result.standardOutput + result.standardError)

        let accepted = await running.line(startingWith: "accepted ")
        let line = try XCTUnwrap(accepted, running.text)
        XCTAssertTrue(line.hasPrefix("accepted <alice@example.org> -> <bob@example.net>, "), line)
        XCTAssertTrue(line.hasSuffix(" bytes, by alice@example.org"), line)
        await running.stop()
        XCTAssertFalse(running.process.isRunning)
    }
}
