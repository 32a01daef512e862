#if canImport(Glibc)
import Glibc
#endif

/// A connected local (`AF_UNIX`) stream socket whose every wait is bounded, read line by line.
///
/// A server that stops answering, or drips bytes, must not hold the command forever: each line read, each write and
/// the connect itself end after ``timeoutMilliseconds``.
final class UnixSocketConnection {
    /// What went wrong; the `errno` of a failed call where there is one.
    enum Failure: Error {
        case connect(errno: Int32)
        case timedOut
        case closed
        case lineTooLong
        case io(errno: Int32)
    }

    private let fd: Int32
    private let timeoutMilliseconds: Int
    private var buffered: [UInt8] = []

    /// Connects to the socket at `path`.
    ///
    /// - Throws: ``Failure/connect(errno:)`` (`ENOENT` when nothing is there, `ECONNREFUSED` when nobody listens).
    init(path: String, timeoutMilliseconds: Int) throws(Failure) {
        self.timeoutMilliseconds = timeoutMilliseconds
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        // The address must keep its terminating NUL: sun_path is zeroed, and one byte of it stays so.
        guard !pathBytes.contains(0), pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw .connect(errno: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: pathBytes) }
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .connect(errno: errno) }
        // Linux bounds a blocking AF_UNIX connect (a full backlog) and every send by SO_SNDTIMEO.
        var limit = timeval(tv_sec: timeoutMilliseconds / 1000, tv_usec: (timeoutMilliseconds % 1000) * 1000)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            let code = errno
            close(fd)
            throw code == EAGAIN ? .timedOut : .connect(errno: code)
        }
    }

    deinit { close(fd) }

    /// Writes all of `bytes`; a peer gone is an error, not a SIGPIPE.
    func send(_ bytes: [UInt8]) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress.map { $0 + offset }, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent < 0 {
                if errno == EINTR { continue }
                throw errno == EAGAIN ? .timedOut : .io(errno: errno)
            }
            offset += sent
        }
    }

    /// Reads the next line, ended by LF (a CR before it is dropped), of at most `limit` bytes.
    ///
    /// The whole line must arrive within the timeout, however it is split.
    func readLine(limit: Int) throws(Failure) -> [UInt8] {
        let deadline = Self.now() + timeoutMilliseconds
        while true {
            if let end = buffered.firstIndex(of: UInt8(ascii: "\n")) {
                var line = Array(buffered[..<end])
                buffered.removeSubrange(...end)
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                guard line.count <= limit else { throw .lineTooLong }
                return line
            }
            guard buffered.count <= limit + 1 else { throw .lineTooLong }
            let remaining = deadline - Self.now()
            guard remaining > 0 else { throw .timedOut }
            var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let polled = poll(&ready, 1, Int32(min(remaining, Int(Int32.max))))
            if polled < 0 {
                if errno == EINTR { continue }
                throw .io(errno: errno)
            }
            guard polled > 0 else { throw .timedOut }
            var chunk = [UInt8](repeating: 0, count: 512)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw .io(errno: errno)
            }
            guard count > 0 else { throw .closed }
            buffered += chunk[..<count]
        }
    }

    private static func now() -> Int {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return time.tv_sec * 1000 + time.tv_nsec / 1_000_000
    }
}
