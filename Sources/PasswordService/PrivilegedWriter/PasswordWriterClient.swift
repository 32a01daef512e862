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
/// (``PasswordWriter``): one ``PasswordWriterRequest`` at a time, answered by one ``PasswordWriterReply``. Requests
/// are serialised by a lock held for the exchange and run on a thread pool, off the event loops; a reply slower than
/// the timeout, a malformed one or a closed socket puts the writer out of use for good, and every later change fails
/// ``PasswordChangeError/unavailable(reason:)``: the daemon cannot start another root process once it has dropped
/// its privileges. ``stop()`` closes the socket (the writer exits when it sees the end) and reaps the child.
package final class PasswordWriterClient: PasswordChanging {
    /// The descriptor the writer finds its end of the socket pair on.
    package static let writerDescriptor = PrivilegedChild.descriptor

    /// How long one change may take (it hashes the password once per mechanism family, and may wait for the
    /// database's lock) before the writer is taken for stuck.
    package static let defaultTimeout: Duration = .seconds(30)

    private struct Connection {
        var socket: Int32?
        var pid: pid_t?
    }

    /// The writer's process id.
    package let pid: pid_t
    private let connection: Mutex<Connection>
    private let timeout: Duration
    private let threadPool: NIOThreadPool
    private let logger: Logger

    /// Starts the writer: `executable` (`/proc/self/exe`, the daemon itself) with `arguments` (`argv[0]` included)
    /// and an empty environment, its standard input and output on `/dev/null`, its standard error the daemon's.
    ///
    /// - Parameters:
    ///   - executable: the program to start.
    ///   - arguments: its whole argument vector; never a secret (`ps` shows it).
    ///   - timeout: how long one change may take.
    ///   - threadPool: where the blocking exchanges run.
    ///   - logger: where a failing writer is reported.
    /// - Throws: ``PasswordServiceError/passwordWriter(_:)`` when the socket pair or the child cannot be made.
    package init(
        executable: String,
        arguments: [String],
        timeout: Duration = defaultTimeout,
        threadPool: NIOThreadPool = .singleton,
        logger: Logger
    ) throws(PasswordServiceError) {
        let socket: Int32
        do throws(ChildProcess.Failure) {
            (pid, socket) = try PrivilegedChild.start(executable: executable, arguments: arguments)
        } catch {
            throw .passwordWriter("\(error)")
        }
        connection = Mutex(Connection(socket: socket, pid: pid))
        self.timeout = timeout
        self.threadPool = threadPool
        self.logger = logger
    }

    /// Has the writer change the password; see ``PasswordChanging/change(login:current:new:origin:)``. The writer
    /// audits the outcome; a writer out of use is logged here.
    package func change(
        login: [UInt8],
        current: [UInt8],
        new: [UInt8],
        origin: String
    ) async throws(PasswordChangeError) {
        guard var request = PasswordWriterRequest(login: login, current: current, new: new, origin: origin) else {
            throw .unavailable(reason: "the request exceeds the password writer's bounds")
        }
        defer { request.erase() }
        let reply: PasswordWriterReply
        do {
            reply = try await threadPool.runIfActive { [request] in self.exchange(request) }
        } catch {
            throw .unavailable(reason: "the thread pool has stopped")
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
        guard let pid else { return }
        guard PrivilegedChild.reap(pid, within: .seconds(5)) else {
            logger.warning("password writer did not stop", metadata: ["pid": "\(pid)"])
            return
        }
        logger.info("password writer stopped", metadata: ["pid": "\(pid)"])
    }

    /// One request and its reply, under the lock; a failure puts the writer out of use and comes back as an
    /// `unavailable` reply.
    private func exchange(_ request: PasswordWriterRequest) -> PasswordWriterReply {
        connection.withLock { connection in
            guard let socket = connection.socket else {
                return .refused(.unavailable(reason: "the password writer has stopped"))
            }
            switch Self.exchange(request, on: socket, timeout: timeout) {
            case .success(let reply):
                return reply
            case .failure(let failure):
                close(socket)
                connection.socket = nil
                let ended = connection.pid.flatMap { ChildProcess.reap($0, blocking: false) }
                if ended != nil { connection.pid = nil }
                logger.error(
                    "password writer failed",
                    metadata: [
                        "detail": .string(failure.detail),
                        "writer.exit": .string(ended.map { "\($0)" } ?? "running"),
                        "remedy": "password changes fail until sasl-smtpd restarts",
                    ]
                )
                return .refused(.unavailable(reason: "the password writer failed: \(failure.detail)"))
            }
        }
    }

    private struct Failure: Error {
        var detail: String
    }

    private static func exchange(
        _ request: PasswordWriterRequest,
        on socket: Int32,
        timeout: Duration
    ) -> Result<PasswordWriterReply, Failure> {
        var frame = request.frame
        defer { frame.withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }
        let sent = frame.withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == frame.count else {
            return .failure(Failure(detail: "send: \(sent < 0 ? String(cString: strerror(errno)) : "cut short")"))
        }
        let deadline = ContinuousClock.now + timeout
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return .failure(Failure(detail: "no reply within \(timeout)")) }
            var polled = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            let ready = poll(&polled, 1, Int32(clamping: left.components.seconds * 1000 + 1))
            if ready < 0 && errno != EINTR {
                return .failure(Failure(detail: "poll: \(String(cString: strerror(errno)))"))
            }
            if ready > 0 { break }
        }
        // One byte more than the longest reply, so a longer datagram shows as such rather than being cut to fit.
        var buffer = [UInt8](repeating: 0, count: PasswordWriterReply.maximumFrameLength + 1)
        let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
        if count < 0 { return .failure(Failure(detail: "recv: \(String(cString: strerror(errno)))")) }
        if count == 0 { return .failure(Failure(detail: "the writer exited")) }
        guard count <= PasswordWriterReply.maximumFrameLength, let reply = PasswordWriterReply(frame: buffer[..<count])
        else { return .failure(Failure(detail: "malformed reply")) }
        return .success(reply)
    }
}
