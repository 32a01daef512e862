import NIOCore
import NIOPosix
import NIOSSL
import ServerKit
import Synchronization

/// A small SMTP/LMTP client over one NIO connection, for ``RelaySink`` and the daemon's `smtp-test`: send a line, read a
/// reply, send a message with dot-stuffing, start TLS. Every wait is bounded: when a read or a write takes longer than
/// the command timeout, the connection is closed and ``SMTPClientError/timedOut(step:)`` thrown.
///
/// It is used by one task at a time, inside ``withConnection(host:port:tls:connectTimeout:commandTimeout:_:)``, which
/// closes the connection when the body returns or throws.
package final class SMTPClientConnection {
    /// What a connection has sent and received, line by line, for transcripts (`true` = sent by us).
    package var trace: ((_ sent: Bool, _ line: String) -> Void)?

    private let channel: Channel
    private var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    private let commandTimeout: Duration
    private var pending: [UInt8] = []
    private let tlsErrors = TLSErrorRecorder()

    /// The longest reply line accepted (RFC 5321 allows 512 octets; some servers send more).
    package static let maximumLineLength = 4096
    /// The most lines in one reply.
    package static let maximumReplyLines = 256

    private init(
        channel: Channel,
        inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator,
        outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
        commandTimeout: Duration
    ) {
        self.channel = channel
        self.inbound = inbound
        self.outbound = outbound
        self.commandTimeout = commandTimeout
    }

    /// Connects to `host:port`, runs `body` with the connection and closes it.
    ///
    /// - Parameters:
    ///   - tls: TLS from the start (implicit TLS); `nil` for a plain connection (which may STARTTLS later).
    ///   - connectTimeout: the limit for the TCP connection (and name resolution).
    ///   - commandTimeout: the limit for each read of a reply and each write.
    package static func withConnection<Result>(
        host: String,
        port: Int,
        tls: SMTPClientTLS? = nil,
        connectTimeout: Duration,
        commandTimeout: Duration,
        _ body: (SMTPClientConnection) async throws -> Result
    ) async throws -> Result {
        let asyncChannel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(TimeAmount(connectTimeout))
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        let handler = try NIOSSLClientHandler(
                            context: tls.context,
                            serverHostname: Self.sniName(tls.serverHostname)
                        )
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await asyncChannel.executeThenClose { inbound, outbound in
            let connection = SMTPClientConnection(
                channel: asyncChannel.channel,
                inbound: inbound.makeAsyncIterator(),
                outbound: outbound,
                commandTimeout: commandTimeout
            )
            return try await body(connection)
        }
    }

    // MARK: - Commands

    /// Sends `line` and CRLF.
    package func send(_ line: String) async throws {
        try await send(line, step: Self.verb(of: line))
    }

    /// Sends `line` and CRLF; errors name it `step` rather than by its first word (a line that may hold a secret).
    package func send(_ line: String, step: String) async throws {
        trace?(true, line)
        try await write(Array(line.utf8) + [13, 10], step: "the server to take \(step)")
    }

    /// Sends `line` and reads the reply.
    package func command(_ line: String) async throws -> SMTPClientReply {
        try await command(line, step: Self.verb(of: line))
    }

    /// Sends `line` and reads the reply; errors name it `step`.
    package func command(_ line: String, step: String) async throws -> SMTPClientReply {
        try await send(line, step: step)
        return try await readReply(step: "the reply to \(step)")
    }

    /// Reads one (possibly multi-line) reply.
    package func readReply(step: String = "a reply") async throws -> SMTPClientReply {
        var lines: [String] = []
        var code: Int?
        while true {
            let line = try await readLine(step: step)
            trace?(false, line)
            let bytes = Array(line.utf8)
            guard bytes.count >= 3, let lineCode = Int(String(decoding: bytes[0..<3], as: UTF8.self)),
                (200...599).contains(lineCode), code == nil || code == lineCode
            else { throw SMTPClientError.malformedReply(String(line.prefix(200))) }
            code = lineCode
            let separator = bytes.count > 3 ? bytes[3] : UInt8(ascii: " ")
            guard separator == UInt8(ascii: " ") || separator == UInt8(ascii: "-") else {
                throw SMTPClientError.malformedReply(String(line.prefix(200)))
            }
            lines.append(bytes.count > 4 ? String(decoding: bytes[4...], as: UTF8.self) : "")
            if separator == UInt8(ascii: " ") { return SMTPClientReply(code: lineCode, lines: lines) }
            guard lines.count < Self.maximumReplyLines else {
                throw SMTPClientError.malformedReply("more than \(Self.maximumReplyLines) lines in one reply")
            }
        }
    }

    /// Sends a message after `354`: each line with CRLF, a leading `.` doubled, then the `.` line.
    ///
    /// `data` should have CRLF line endings; a bare LF is sent as CRLF, and a last line without an ending gets one.
    package func sendMessage(_ data: [UInt8]) async throws {
        trace?(true, "(message, \(data.count) bytes)")
        var chunk: [UInt8] = []
        chunk.reserveCapacity(1 << 16)
        var atLineStart = true
        var index = data.startIndex
        while index < data.endIndex {
            let byte = data[index]
            if atLineStart && byte == UInt8(ascii: ".") { chunk.append(UInt8(ascii: ".")) }
            if byte == 10 {
                chunk += [13, 10]
                atLineStart = true
            } else if byte == 13 && index + 1 < data.endIndex && data[index + 1] == 10 {
                chunk += [13, 10]
                index += 1
                atLineStart = true
            } else {
                chunk.append(byte)
                atLineStart = false
            }
            index += 1
            if chunk.count >= 1 << 16 {
                try await write(chunk, step: "the server to take the message")
                chunk.removeAll(keepingCapacity: true)
            }
        }
        if !atLineStart { chunk += [13, 10] }
        chunk += Array(".\r\n".utf8)
        trace?(true, ".")
        try await write(chunk, step: "the server to take the message")
    }

    /// Starts TLS after the server's `220` to STARTTLS; the handshake runs with the next write or read.
    ///
    /// - Parameters:
    ///   - certificateMustName: a host name the certificate must hold by name (``CertificateHostName``), beyond the
    ///     context's own verification, which also accepts an IP address entry matching the address connected to;
    ///     the handshake fails otherwise, before anything is sent over it.
    /// - Throws: ``SMTPClientError/dataBeforeTLS`` when the server sent anything after its `220`.
    package func startTLS(
        context: NIOSSLContext,
        serverHostname: String?,
        certificateMustName: String? = nil
    ) async throws {
        guard pending.isEmpty else { throw SMTPClientError.dataBeforeTLS }
        let channel = self.channel
        let name = Self.sniName(serverHostname)
        let tlsErrors = self.tlsErrors
        try await channel.eventLoop.submit {
            let handler: NIOSSLClientHandler
            if let required = certificateMustName {
                handler = try NIOSSLClientHandler._makeSSLClientHandler(context: context, serverHostname: name) {
                    certificate,
                    channel in
                    guard CertificateHostName.matches(required, certificate: certificate) else {
                        return channel.eventLoop.makeFailedFuture(SMTPClientError.certificateDoesNotName(required))
                    }
                    return channel.eventLoop.makeSucceededFuture(())
                }
            } else {
                handler = try NIOSSLClientHandler(context: context, serverHostname: name)
            }
            try channel.pipeline.syncOperations.addHandler(handler, position: .first)
            try channel.pipeline.syncOperations.addHandler(tlsErrors, position: .after(handler))
        }.get()
    }

    /// Why the TLS handshake failed (an unverified certificate, say), once it has: the write or read that ran it
    /// often sees only the closed channel.
    package var tlsFailure: String? { tlsErrors.first }

    /// The negotiated TLS version and the server's certificate, once the handshake is done (after a reply over TLS).
    package func tlsSession() async -> (version: TLSVersion?, certificate: NIOSSLCertificate?) {
        let version = try? await channel.nioSSL_tlsVersion().get()
        let certificate = try? await channel.nioSSL_peerCertificate().get()
        return (version ?? nil, certificate ?? nil)
    }

    // MARK: - I/O with deadlines

    private func readLine(step: String) async throws -> String {
        while true {
            if let newline = pending.firstIndex(of: 10) {
                var line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                if line.last == 13 { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            guard pending.count <= Self.maximumLineLength else {
                throw SMTPClientError.malformedReply("a reply line longer than \(Self.maximumLineLength) bytes")
            }
            let buffer = try await withDeadline(step) { () async throws -> ByteBuffer? in
                try await self.inbound.next()
            }
            guard let buffer else { throw SMTPClientError.connectionClosed }
            pending += buffer.readableBytesView
        }
    }

    private func write(_ bytes: [UInt8], step: String) async throws {
        let buffer = channel.allocator.buffer(bytes: bytes)
        try await withDeadline(step) { () async throws -> Void in
            try await self.outbound.write(buffer)
        }
    }

    /// Runs `operation`, closing the connection if it takes longer than the command timeout; returns `nil` (the
    /// stream ended) as ``SMTPClientError/timedOut(step:)`` when the timer fired.
    private func withDeadline<T>(_ step: String, _ operation: () async throws -> T?) async throws -> T? {
        let fired = Flag()
        let channel = self.channel
        let timer = channel.eventLoop.scheduleTask(in: TimeAmount(commandTimeout)) {
            fired.set()
            channel.close(promise: nil)
        }
        defer { timer.cancel() }
        do {
            let result = try await operation()
            if result == nil && fired.isSet { throw SMTPClientError.timedOut(step: step) }
            return result
        } catch {
            if fired.isSet { throw SMTPClientError.timedOut(step: step) }
            throw error
        }
    }

    private func withDeadline(_ step: String, _ operation: () async throws -> Void) async throws {
        _ = try await withDeadline(step) { () async throws -> Bool? in
            try await operation()
            return true
        }
    }

    /// The command word of a line, for messages (never the argument, which may be a credential).
    private static func verb(of line: String) -> String {
        String(line.prefix { $0 != " " && $0 != ":" }.prefix(16))
    }

    /// SNI takes a host name, never an address literal.
    package static func sniName(_ name: String?) -> String? {
        guard let name, !name.isEmpty else { return nil }
        if (try? SocketAddress(ipAddress: name, port: 0)) != nil { return nil }
        return name
    }

    /// Keeps the first error the TLS handler reports, for ``tlsFailure``, and passes every error on.
    private final class TLSErrorRecorder: ChannelInboundHandler, Sendable {
        typealias InboundIn = NIOAny
        private let recorded = Mutex<String?>(nil)

        var first: String? { recorded.withLock { $0 } }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            recorded.withLock { $0 = $0 ?? "\(error)" }
            context.fireErrorCaught(error)
        }
    }

    /// A one-way flag set by the timer on the event loop and read by the task.
    private final class Flag: Sendable {
        private let value = Atomic<Bool>(false)
        func set() { value.store(true, ordering: .sequentiallyConsistent) }
        var isSet: Bool { value.load(ordering: .sequentiallyConsistent) }
    }
}

extension TimeAmount {
    /// The duration in nanoseconds, saturating.
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        self = .nanoseconds(overflow ? Int64.max : product &+ attoseconds / 1_000_000_000)
    }
}
