import Logging
import NIOPosix
import PasswordChange
import ServerKit
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The daemon's end of the privileged password writer, OpenSSH's privilege separation in small: a child started as
/// root before the daemon drops its privileges, which alone writes the database (whose directory the daemon's user
/// cannot write) and checks the current password itself, so a compromised daemon cannot set a password it does not
/// know.
///
/// The two talk over a `socketpair(AF_UNIX, SOCK_SEQPACKET)`, the child's end as its descriptor 3
/// (``PasswordWriter``): one ``PasswordWriterRequest`` at a time, answered by one ``PasswordWriterReply`` carrying
/// the request's id. Requests are serialised by a lock held for the exchange, on a thread of the client's own, so
/// however many changes wait for the writer they hold no thread of the pool that SMTP logins use.
///
/// A change the writer does not answer within the timeout fails ``PasswordChangeError/unavailable(reason:)`` (a
/// temporary failure), and the writer stays in use: it finishes that change and answers it, and the next request
/// first waits for that late answer (recognised by its id, logged, discarded), so at most one request is ever in
/// flight and a change is never made long after its client was told it failed. A writer that exited or broke the
/// protocol is gone for the daemon's life: the daemon has dropped root and cannot start another, so the failure is
/// logged as an error naming the remedy (restart sasl-smtpd) and every later change fails `unavailable`.
/// ``stop()`` closes the socket (the writer exits when it sees the end) and reaps the child.
package final class PasswordWriterClient: PasswordChanging {
    /// The descriptor the writer finds its end of the socket pair on.
    package static let writerDescriptor = PrivilegedChild.descriptor

    /// How long one change may take (it hashes the password once per mechanism family, and may wait for the
    /// database's lock), counted from the request, before the writer is taken for busy.
    package static let defaultTimeout: Duration = .seconds(30)

    private struct Connection {
        var socket: Int32?
        var pid: pid_t?
        /// The id of the last request sent.
        var lastID: UInt32 = 0
        /// A request given up on whose answer has not come yet: the writer is still on it.
        var unanswered: UInt32?
    }

    /// The writer's process id; `nil` for a writer this client did not start.
    package let pid: pid_t?
    private let connection: Mutex<Connection>
    private let timeout: Duration
    /// The one thread exchanges block: they are serialised anyway, and must not take threads others need.
    private let thread: NIOThreadPool
    private let logger: Logger

    /// Starts the writer: `executable` (`/proc/self/exe`, the daemon itself) with `arguments` (`argv[0]` included)
    /// and an empty environment, its standard input and output on `/dev/null`, its standard error the daemon's.
    ///
    /// - Parameters:
    ///   - executable: the program to start.
    ///   - arguments: its whole argument vector; never a secret (`ps` shows it).
    ///   - timeout: how long one change may take.
    ///   - logger: where a failing writer is reported.
    /// - Throws: ``PasswordServiceError/passwordWriter(_:)`` when the socket pair or the child cannot be made.
    package convenience init(
        executable: String,
        arguments: [String],
        timeout: Duration = defaultTimeout,
        logger: Logger
    ) throws(PasswordServiceError) {
        let started: (pid: pid_t, socket: Int32)
        do throws(ChildProcess.Failure) {
            started = try PrivilegedChild.start(executable: executable, arguments: arguments)
        } catch {
            throw .passwordWriter("\(error)")
        }
        self.init(socket: started.socket, pid: started.pid, timeout: timeout, logger: logger)
    }

    /// Talks to a writer already serving the other end of `socket` (a `SOCK_SEQPACKET` socket, which the client
    /// now owns and closes).
    ///
    /// - Parameters:
    ///   - socket: the daemon's end.
    ///   - pid: the writer's process, reaped by ``stop()``; `nil` when it is not a child of this one.
    ///   - timeout: how long one change may take.
    ///   - logger: where a failing writer is reported.
    package init(socket: Int32, pid: pid_t?, timeout: Duration = defaultTimeout, logger: Logger) {
        self.pid = pid
        connection = Mutex(Connection(socket: socket, pid: pid))
        self.timeout = timeout
        self.logger = logger
        thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
    }

    deinit {
        // A pool dropped while running trips NIO's assertion; a client dropped without ``stop()`` ends its thread.
        thread.shutdownGracefully { _ in }
    }

    /// Has the writer change the password; see ``PasswordChanging/change(login:current:new:origin:)``. The writer
    /// audits the outcome; a writer late or gone is logged here.
    package func change(
        login: [UInt8],
        current: [UInt8],
        new: [UInt8],
        origin: String
    ) async throws(PasswordChangeError) {
        guard var request = PasswordWriterRequest(id: 0, login: login, current: current, new: new, origin: origin)
        else {
            throw .unavailable(reason: "the request exceeds the password writer's bounds")
        }
        defer { request.erase() }
        // Counted from now, so a request queued behind a writer that is not answering fails in time too.
        let deadline = ContinuousClock.now + timeout
        let reply: PasswordWriterReply
        do {
            reply = try await thread.runIfActive { [request] in self.exchange(request, deadline: deadline) }
        } catch {
            throw .unavailable(reason: "the password writer has stopped")
        }
        if let error = reply.error { throw error }
    }

    /// Closes the socket, which ends the writer, and reaps it, waiting up to five seconds (a change in progress
    /// finishes first). Later changes fail.
    package func stop() {
        let pid = connection.withLock { connection in
            if let socket = connection.socket { close(socket) }
            connection.socket = nil
            defer { connection.pid = nil }
            return connection.pid
        }
        thread.shutdownGracefully { _ in }
        guard let pid else { return }
        guard PrivilegedChild.reap(pid, within: .seconds(5)) else {
            logger.warning("password writer did not stop", metadata: ["pid": "\(pid)"])
            return
        }
        logger.info("password writer stopped", metadata: ["pid": "\(pid)"])
    }

    /// One request and its reply, under the lock, after the late answer to a request given up on.
    private func exchange(_ request: PasswordWriterRequest, deadline: ContinuousClock.Instant) -> PasswordWriterReply {
        connection.withLock { connection in
            guard let socket = connection.socket else {
                return .refused(.unavailable(reason: "the password writer has exited"))
            }
            if let unanswered = connection.unanswered {
                switch Self.awaitReply(to: unanswered, on: socket, until: deadline) {
                case .answered(let late):
                    connection.unanswered = nil
                    logger.notice(
                        "password writer answered late",
                        metadata: [
                            "writer.request": "\(unanswered)",
                            "writer.outcome": .string(late.error.map { "\($0)" } ?? "changed"),
                            "detail": "its client was told the change failed; the answer is discarded",
                        ]
                    )
                case .timedOut:
                    logger.warning(
                        "password writer still busy",
                        metadata: ["writer.request": "\(unanswered)", "detail": "a later change was not sent"]
                    )
                    return .refused(.unavailable(reason: "the password writer is still busy with an earlier change"))
                case .failed(let detail):
                    return writerGone(detail, connection: &connection)
                }
            }
            guard ContinuousClock.now < deadline else {
                return .refused(.unavailable(reason: "the password writer did not answer in time"))
            }
            connection.lastID &+= 1
            var request = request
            request.id = connection.lastID
            defer { request.erase() }
            if let detail = Self.send(request, on: socket) {
                return writerGone(detail, connection: &connection)
            }
            switch Self.awaitReply(to: request.id, on: socket, until: deadline) {
            case .answered(let reply):
                return reply
            case .timedOut:
                connection.unanswered = request.id
                logger.warning(
                    "password writer did not answer in time",
                    metadata: [
                        "writer.request": "\(request.id)",
                        "timeout": "\(timeout)",
                        "detail": "the writer stays in use; its late answer will be discarded",
                    ]
                )
                return .refused(.unavailable(reason: "the password writer did not answer in time"))
            case .failed(let detail):
                return writerGone(detail, connection: &connection)
            }
        }
    }

    /// Puts a writer that exited or broke the protocol out of use for good, logging why and what to do.
    private func writerGone(_ detail: String, connection: inout Connection) -> PasswordWriterReply {
        if let socket = connection.socket { close(socket) }
        connection.socket = nil
        let ended = connection.pid.flatMap { ChildProcess.reap($0, blocking: false) }
        if ended != nil { connection.pid = nil }
        logger.error(
            "password writer failed",
            metadata: [
                "detail": .string(detail),
                "writer.exit": .string(ended.map { "\($0)" } ?? "running"),
                "remedy": "password changes fail (try again later) until sasl-smtpd restarts",
            ]
        )
        return .refused(.unavailable(reason: "the password writer failed: \(detail)"))
    }

    /// Sends `request`; `nil` when it went, else why not.
    private static func send(_ request: PasswordWriterRequest, on socket: Int32) -> String? {
        var frame = request.frame
        defer { frame.overwriteWithZeros() }
        let sent = frame.withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == frame.count else {
            return "send: \(sent < 0 ? String(cString: strerror(errno)) : "cut short")"
        }
        return nil
    }

    private enum Wait {
        case answered(PasswordWriterReply)
        case timedOut
        case failed(String)
    }

    /// Waits until `deadline` for the answer to request `id`.
    private static func awaitReply(to id: UInt32, on socket: Int32, until deadline: ContinuousClock.Instant) -> Wait {
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return .timedOut }
            let (seconds, attoseconds) = left.components
            let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1
            var polled = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            let ready = poll(&polled, 1, Int32(clamping: milliseconds))
            if ready < 0 && errno != EINTR { return .failed("poll: \(String(cString: strerror(errno)))") }
            if ready > 0 { break }
        }
        // One byte more than the longest reply, so a longer datagram shows as such rather than being cut to fit.
        var buffer = [UInt8](repeating: 0, count: PasswordWriterReply.maximumFrameLength + 1)
        let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
        if count < 0 { return .failed("recv: \(String(cString: strerror(errno)))") }
        if count == 0 { return .failed("the writer exited") }
        guard count <= PasswordWriterReply.maximumFrameLength,
            let decoded = PasswordWriterReply.decode(frame: buffer[..<count])
        else { return .failed("malformed reply") }
        // At most one request is in flight: an answer to another is a writer out of step.
        guard decoded.id == id else { return .failed("a reply to request \(decoded.id) while waiting for \(id)") }
        return .answered(decoded.reply)
    }
}
