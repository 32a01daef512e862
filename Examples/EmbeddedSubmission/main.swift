// An SMTP submission server embedded in a program of its own: one user held in memory, STARTTLS on one port, and a
// message sink that prints what it accepts. Walked through in the SMTPSubmission documentation ("Embedding the
// server").
//
//     EmbeddedSubmission CERTIFICATE.pem KEY.pem [PORT]
//
// PORT is 2587 by default; 0 lets the system choose (the port is printed). Stop it with Ctrl-C or SIGTERM.
import Foundation
import Logging
import SASLDB
import SASLMechanisms
import SMTPSubmission
import ServerKit
import ServiceLifecycle

/// Writes a line to standard output at once (unbuffered, as a pipe's reader wants it).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Where accepted messages go: this sink prints each message's envelope and size, and keeps nothing.
struct PrintingSink: MessageSink {
    func deliver(_ message: SubmittedMessage) async throws(MessageSinkError) {
        let recipients = message.recipients.map { "<\($0)>" }.joined(separator: " ")
        say(
            "accepted <\(message.sender)> -> \(recipients), \(message.data.count) bytes, by \(message.authenticatedUser)"
        )
    }
}

let arguments = CommandLine.arguments
guard arguments.count == 3 || arguments.count == 4, let port = Int(arguments.count == 4 ? arguments[3] : "2587")
else {
    FileHandle.standardError.write(Data("usage: EmbeddedSubmission CERTIFICATE.pem KEY.pem [PORT]\n".utf8))
    exit(64)
}
LoggingSystem.bootstrap(StreamLogHandler.standardError)
let logger = Logger(label: "embedded-submission")

// The credentials live in memory only: one user, alice@example.org, with the password "example-password".
let store = CredentialStore(backend: MemoryBackend())
try store.setPassword(Array("example-password".utf8), for: UserID(parsing: "alice@example.org", defaultRealm: ""))

let server = try SMTPServer(
    configuration: SMTPServerConfiguration(
        listeners: [.init(host: "127.0.0.1", port: port, kind: .submission)],
        tls: ServerTLSConfiguration(certificateChainPath: arguments[1], privateKeyPath: arguments[2])
    ),
    sessionConfiguration: SMTPSessionConfiguration(
        hostName: "localhost",
        saslContext: SASLServerContext(lookup: store, hostName: "localhost", defaultRealm: "example.org"),
        clock: { SMTPTimestamp(secondsSince1970: Int64(Date().timeIntervalSince1970)) }
    ),
    sink: PrintingSink(),
    logger: logger
)
Task {
    for address in try await server.listeningAddresses() { say("listening on port \(address.port ?? port)") }
}
let group = ServiceGroup(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
try await group.run()
