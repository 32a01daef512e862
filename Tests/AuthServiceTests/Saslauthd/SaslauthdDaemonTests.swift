import Foundation
import SASLDB
import ServerKitTestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The bundled daemon with `saslauthd_socket`: sockets bound as root in directories it makes as Debian's are, a
/// password changed in the file accepted after SIGHUP and without it, the sockets removed at SIGTERM.
final class SaslauthdDaemonTests: XCTestCase {
    func testDaemonServesEverySocketUnderItsConfigurationAndRemovesThemAtStop() throws {
        let binary = try builtExecutable("sasl-smtpd", override: "SASL_SMTPD_BIN")
        guard geteuid() == 0 else { throw XCTSkip("the daemon binds as root and drops to nobody") }
        let certificate = try TestCertificate.files()
        let directory = NSTemporaryDirectory() + "saslauthd-daemon-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        chmod(directory, 0o755)
        let database = directory + "/sasldb2"
        let store = CredentialStore(backend: FileBackend(path: database))
        let alice = UserID(authid: Array("alice".utf8), realm: Array("example.org".utf8))
        try store.setPassword(Array("first-Passw0rd".utf8), for: alice)
        chmod(database, 0o644)
        let sockets = [directory + "/run/mux", directory + "/spool/var/run/saslauthd/mux"]
        try FileManager.default.createDirectory(atPath: directory + "/spool/var/run", withIntermediateDirectories: true)
        let configuration = """
            hostname = mail.example.org
            submission_listen = 127.0.0.1:0
            tls_certificate = \(certificate.certificatePath)
            tls_key = \(certificate.keyPath)
            sasldb_path = \(database)
            default_realm = example.org
            sink = maildir:\(directory)/Maildir
            passwd_socket =
            saslauthd_socket = \(sockets.joined(separator: ", "))
            saslauthd_socket_mode = 0750
            user = nobody
            group = nogroup

            """
        try configuration.write(toFile: directory + "/sasl-smtpd.conf", atomically: true, encoding: .utf8)
        let log = directory + "/sasl-smtpd.log"
        XCTAssertTrue(FileManager.default.createFile(atPath: log, contents: nil))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["--config", directory + "/sasl-smtpd.conf"]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: log)
        try process.run()
        defer {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        func logText() -> String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, process.isRunning, !logText().contains("msg=ready") { usleep(50_000) }
        XCTAssertTrue(logText().contains("msg=ready"), logText())

        for socket in sockets {
            var status = stat()
            XCTAssertEqual(stat((socket as NSString).deletingLastPathComponent, &status), 0)
            XCTAssertEqual(status.st_mode & 0o777, 0o750, socket)
            XCTAssertEqual(status.st_uid, getpwnam("nobody")?.pointee.pw_uid, socket)
            let request = SaslauthdWire.request(login: "alice", password: "first-Passw0rd", realm: "example.org")
            XCTAssertEqual(SaslauthdClient.exchange(socket, request).flatMap(SaslauthdWire.replyText), "OK", logText())
        }
        try store.setPassword(Array("second-Passw0rd".utf8), for: alice)
        let second = SaslauthdWire.request(login: "alice@example.org", password: "second-Passw0rd")
        XCTAssertEqual(SaslauthdClient.exchange(sockets[1], second).flatMap(SaslauthdWire.replyText), "OK")
        kill(process.processIdentifier, SIGHUP)
        let reloaded = Date().addingTimeInterval(20)
        while Date() < reloaded, !logText().contains("msg=reloaded") { usleep(50_000) }
        XCTAssertEqual(SaslauthdClient.exchange(sockets[0], second).flatMap(SaslauthdWire.replyText), "OK")

        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, logText())
        for socket in sockets { XCTAssertFalse(FileManager.default.fileExists(atPath: socket), socket) }
        XCTAssertFalse(logText().contains("second-Passw0rd"))
    }

    func testCheckConfigRefusesSaslauthdKeysThatCannotWork() throws {
        let binary = try builtExecutable("sasl-smtpd", override: "SASL_SMTPD_BIN")
        let cases = [
            ("saslauthd_socket = run/mux", "saslauthd_socket: expected absolute paths"),
            ("saslauthd_socket = /run/a/mux, /run/a/mux", "saslauthd_socket: a path is listed twice"),
            ("saslauthd_socket_mode = 0777", "saslauthd_socket_mode: expected the owner to have rwx"),
            ("saslauthd_socket_mode = 9", "saslauthd_socket_mode: expected an octal mode"),
            (
                "saslauthd_socket = /run/sasl-smtpd/passwd.sock",
                "saslauthd_socket /run/sasl-smtpd/passwd.sock is also passwd_socket",
            ),
        ]
        for (line, message) in cases {
            let result = ProcessRunner.run(
                binary,
                ["--config", "/dev/null", "--set", line.replacingOccurrences(of: " = ", with: "="), "--check-config"],
                timeout: 60
            )
            XCTAssertNotEqual(result.status, 0, line)
            XCTAssertTrue(result.standardError.contains(message), "\(line): \(result.standardError)")
        }
    }
}
