import ServerKitTestSupport
import XCTest

extension DaemonProcess {
    /// Starts the daemon as root switching to ``TestUser``, with one plain loopback SMTP listener whose `mechanisms`
    /// (blank-separated) are allowed in the clear, a Maildir spool in `directory`, and the `extra` lines.
    static func startOnLoopback(
        _ binary: String,
        mechanisms: String,
        extra: String,
        in directory: String,
        environment: [String: String],
        test: XCTestCase
    ) throws -> DaemonProcess {
        try start(
            binary,
            configuration: """
                hostname = mail.example.org
                submission_listen =
                plain_listen = 127.0.0.1:0
                require_tls = no
                mechanisms = \(mechanisms)
                mechanisms_without_tls = \(mechanisms)
                sink = maildir:\(directory)/Maildir
                user = \(TestUser.name)
                \(extra)
                """,
            in: directory,
            environment: environment,
            test: test
        )
    }
}
