import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// A real `sasl-smtpd` on a PostgreSQL store: one plain loopback listener with PLAIN allowed in the clear, a Maildir
/// in the test's folder, and `extra` lines; killed at the test's end if still running.
struct SMTPDaemon {
    let process: Process
    let logPath: String
    let smtpPort: Int
    let poppassdPort: Int

    /// Starts the daemon in `directory` (a folder of its own) on `url` and waits until it is ready (60 s at most).
    static func start(
        _ binary: String,
        url: String,
        in directory: URL,
        extra: String = "",
        test: XCTestCase
    ) throws
        -> SMTPDaemon
    {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // The daemon drops to nobody: its spool must be open to it.
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: directory.path)
        let site = directory.appendingPathComponent("sasldb.conf").path
        FileManager.default.createFile(atPath: site, contents: nil)
        let configuration = directory.appendingPathComponent("sasl-smtpd.conf").path
        try """
        hostname = mail.example.org
        submission_listen =
        plain_listen = 127.0.0.1:0
        require_tls = no
        mechanisms = PLAIN
        mechanisms_without_tls = PLAIN
        sink = maildir:\(directory.path)/Maildir
        user = nobody
        sasldb_path = \(url)
        default_realm = example.org
        passwd_socket =
        \(extra)

        """.write(toFile: configuration, atomically: true, encoding: .utf8)
        let logPath = directory.appendingPathComponent("sasl-smtpd.log").path
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["--config", configuration]
        process.environment = ProcessInfo.processInfo.environment.merging(["SASLDB_CONFIG": site]) { $1 }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: logPath)
        try process.run()
        test.addTeardownBlock {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        let deadline = Date().addingTimeInterval(60)
        var log = ""
        while Date() < deadline, process.isRunning {
            log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            if log.contains("msg=ready") { break }
            usleep(50_000)
        }
        guard log.contains("msg=ready") else {
            throw SASLDBTestFailure("sasl-smtpd did not become ready: \(log)")
        }
        return SMTPDaemon(
            process: process,
            logPath: logPath,
            smtpPort: port(in: log, after: "msg=listening"),
            poppassdPort: port(in: log, after: "msg=\"poppassd listening\"")
        )
    }

    /// The log so far.
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// The port at the end of the first `address=host:port` on the first line holding `marker`.
    private static func port(in log: String, after marker: String) -> Int {
        guard let line = log.split(separator: "\n").first(where: { $0.contains(marker) }) else { return 0 }
        let fields = line.split(separator: " ").filter { $0.contains("address=") }
        guard let address = fields.first, let colon = address.lastIndex(of: ":") else { return 0 }
        return Int(address[address.index(after: colon)...].prefix { $0.isNumber }) ?? 0
    }
}

/// A test's own failure with a sentence.
struct SASLDBTestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
