import Foundation
import ServerKitTestSupport
import XCTest

/// A real `sasl-smtpd` on a PostgreSQL store: one plain loopback listener with PLAIN allowed in the clear, a Maildir
/// in the test's folder, an empty site file, and `extra` lines.
enum SMTPDaemon {
    /// Starts the daemon in `directory` (a folder of its own) on `url` and waits until it is ready.
    static func start(
        _ binary: String,
        url: String,
        in directory: URL,
        extra: String = "",
        test: XCTestCase
    ) throws
        -> DaemonProcess
    {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // The daemon drops to nobody: its spool must be open to it.
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: directory.path)
        let site = directory.appendingPathComponent("sasldb.conf").path
        FileManager.default.createFile(atPath: site, contents: nil)
        return try DaemonProcess.start(
            binary,
            configuration: configuration(url: url, in: directory, extra: extra),
            in: directory.path,
            environment: ["SASLDB_CONFIG": site],
            test: test
        )
    }

    /// The daemon's configuration on `url`, its Maildir in `directory`.
    static func configuration(url: String, in directory: URL, extra: String = "") -> String {
        """
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

        """
    }
}

extension DaemonProcess {
    /// The log so far.
    var currentLog: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
}

/// A test's own failure with a sentence.
struct SASLDBTestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
