import Foundation
import Logging
import NIOCore
import NIOEmbedded
import NIOSSL
import SASLDB
import SASLMechanisms
import ServerKit
import ServerKitTestSupport
import ServiceLifecycle
import Synchronization
import XCTest

@testable import SMTPSubmission

/// A sink that keeps every message, and can be told to fail or to hold deliveries.
final class RecordingSink: MessageSink {
    private let state = Mutex<[SubmittedMessage]>([])
    private let failure: MessageSinkError?

    init(failure: MessageSinkError? = nil) { self.failure = failure }

    func deliver(_ message: SubmittedMessage) async throws(MessageSinkError) {
        if let failure { throw failure }
        state.withLock { $0.append(message) }
    }

    var messages: [SubmittedMessage] { state.withLock { $0 } }

    /// Waits (bounded) until `count` messages arrived.
    func waitForMessages(_ count: Int, timeout: Duration = .seconds(10)) async -> [SubmittedMessage] {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while clock.now < end {
            let messages = self.messages
            if messages.count >= count { return messages }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return messages
    }
}

/// A log handler that keeps every line, to check fields and that no password is logged.
final class RecordingLogHandler: LogHandler {
    struct Entry: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
    }

    final class Store: Sendable {
        private let entries = Mutex<[Entry]>([])
        func append(_ entry: Entry) { entries.withLock { $0.append(entry) } }
        var all: [Entry] { entries.withLock { $0 } }
        var text: String {
            all.map { entry in
                entry.message + " "
                    + entry.metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                    .joined(separator: " ")
            }.joined(separator: "\n")
        }
    }

    let store: Store
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    init(store: Store) { self.store = store }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged: [String: String] = [:]
        for (key, value) in metadata { merged[key] = "\(value)" }
        for (key, value) in event.metadata ?? [:] { merged[key] = "\(value)" }
        store.append(Entry(level: event.level, message: "\(event.message)", metadata: merged))
    }

    static func logger(_ store: Store) -> Logger {
        Logger(label: "smtp-test") { _ in RecordingLogHandler(store: store) }
    }
}

extension SMTPSessionConfiguration {
    /// A configuration for server tests: every mechanism, DIGEST-MD5 accepting the names clients put in `digest-uri`
    /// (the address they connected to, and for curl the realm the server offered).
    static func serverTest(
        requiresTLS: Bool = true,
        limits: SMTPLimits = SMTPLimits(),
        mechanisms: [String] = MechanismPolicy.all,
        allowedWithoutTLS: Set<String> = []
    ) throws -> SMTPSessionConfiguration {
        SMTPSessionConfiguration(
            hostName: SessionFixture.hostName,
            saslContext: try SessionFixture.context(),
            mechanisms: MechanismPolicy(enabled: mechanisms, allowedWithoutTLS: allowedWithoutTLS),
            scramIterations: 4096,
            digestHosts: .hostName(alsoAccepting: ["localhost", "127.0.0.1", SessionFixture.realm]),
            limits: limits,
            requiresTLS: requiresTLS,
            offersStartTLS: false,
            clock: { SessionFixture.timestamp }
        )
    }
}

/// The message text after the `Received:` header the server prepends.
func bodyAfterReceivedHeader(_ data: [UInt8]) -> [UInt8] {
    let text = data
    guard text.starts(with: Array("Received:".utf8)) else { return data }
    var index = 0
    while index < text.count {
        guard let lf = text[index...].firstIndex(of: 10) else { return [] }
        index = lf + 1
        guard index < text.count, text[index] == 9 || text[index] == 32 else { break }
    }
    return Array(text[index...])
}

/// An ``SMTPServer`` running in-process on 127.0.0.1, ports chosen by the system.
final class TestServer: Sendable {
    let server: SMTPServer
    let sink: RecordingSink
    let logs: RecordingLogHandler.Store
    let addresses: [SocketAddress]
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    private init(
        server: SMTPServer,
        sink: RecordingSink,
        logs: RecordingLogHandler.Store,
        addresses: [SocketAddress],
        group: ServiceGroup,
        task: Task<Void, any Error>
    ) {
        self.server = server
        self.sink = sink
        self.logs = logs
        self.addresses = addresses
        self.group = group
        self.task = task
    }

    /// Starts a server with a submission, an implicit-TLS and a plain listener (in that order).
    static func start(
        kinds: [SMTPServerConfiguration.Listener.Kind] = [.submission, .implicitTLS, .plain],
        sessionConfiguration: SMTPSessionConfiguration? = nil,
        sink: RecordingSink = RecordingSink(),
        adjust: (inout SMTPServerConfiguration) -> Void = { _ in },
        beforeAccepting: (@Sendable ([SocketAddress]) async throws -> Void)? = nil
    ) async throws -> TestServer {
        var configuration = SMTPServerConfiguration(
            listeners: kinds.map { .init(host: "127.0.0.1", port: 0, kind: $0) },
            tls: try TestCertificate.configuration(),
            drainTimeout: .seconds(5)
        )
        adjust(&configuration)
        let logs = RecordingLogHandler.Store()
        let server = try SMTPServer(
            configuration: configuration,
            sessionConfiguration: try sessionConfiguration ?? .serverTest(),
            sink: sink,
            logger: RecordingLogHandler.logger(logs),
            beforeAccepting: beforeAccepting
        )
        let group = ServiceGroup(configuration: .init(services: [server], logger: RecordingLogHandler.logger(logs)))
        let task = Task { try await group.run() }
        let addresses = try await withTimeout(.seconds(10)) { try await server.listeningAddresses() }
        return TestServer(server: server, sink: sink, logs: logs, addresses: addresses, group: group, task: task)
    }

    func port(_ index: Int) -> Int { addresses[index].port ?? 0 }

    /// Stops the server (cancellation: every connection closes at once) and waits for `run()` to return.
    func stop() async {
        task.cancel()
        _ = try? await withTimeout(.seconds(15)) { try await self.task.value }
    }

    /// Shuts the server down gracefully, as SIGTERM through a `ServiceGroup` does, and waits for it to return.
    func shutDownGracefully(timeout: Duration = .seconds(15)) async throws {
        await group.triggerGracefulShutdown()
        try await withTimeout(timeout) { try await self.task.value }
    }
}

/// Runs `body`, failing with a timeout error after `timeout`.
func withTimeout<T: Sendable>(
    _ timeout: Duration,
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw TestSupportError("timed out after \(timeout)")
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw TestSupportError("no result") }
        return first
    }
}

/// Runs a process off the cooperative pool, so a blocking wait never starves the server's tasks.
func runProcess(
    _ executable: String,
    _ arguments: [String],
    input: Data? = nil,
    timeout: TimeInterval = 60
) async -> ProcessRunner.Result {
    await withCheckedContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(returning: ProcessRunner.run(executable, arguments, input: input, timeout: timeout))
        }
    }
}

/// A message with the lines that clients must escape or keep: leading dots, a lone dot, an empty line, a 990-octet
/// line.
func testMessage(subject: String, messageID: String) -> [UInt8] {
    let lines = [
        "Date: Fri, 24 May 2002 11:44:42 -0400",
        "From: Alice <alice@example.org>",
        "To: Bob <bob@example.net>",
        "Subject: \(subject)",
        "Message-ID: <\(messageID)>",
        "",
        "Hello Bob,",
        ".a line that starts with a dot",
        "..and one with two",
        ".",
        "",
        String(repeating: "0123456789", count: 99),
        "last line",
    ]
    return Array(lines.joined(separator: "\r\n").utf8) + [13, 10]
}
