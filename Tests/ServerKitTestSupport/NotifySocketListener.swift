import ServerKit

#if canImport(Glibc)
import Glibc
#endif

/// The service manager's end of `sd_notify(3)` for tests: a datagram socket bound at a path or an abstract name,
/// whose messages the test reads one by one.
package final class NotifySocketListener {
    /// What `$NOTIFY_SOCKET` is set to for the process under test.
    package let address: String
    private let socket: Int32

    /// Binds a datagram socket at `address` (a path, or `@name` for the abstract namespace).
    package init(address: String) throws {
        self.address = address
        socket = Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socket >= 0 else { throw LocalSocketError("socket: \(String(cString: strerror(errno)))") }
        let bound = try UnixSocketAddress(address).withSocketAddress { bind(socket, $0, $1) }
        guard bound == 0 else {
            let reason = String(cString: strerror(errno))
            close(socket)
            throw LocalSocketError("bind \(address): \(reason)")
        }
    }

    deinit {
        close(socket)
        if address.hasPrefix("/") { unlink(address) }
    }

    /// The next message, `nil` when none comes within `timeout` seconds.
    package func next(timeout: Double = 10) -> String? {
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, Int32(timeout * 1000)) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
        guard count >= 0 else { return nil }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }

    /// The messages until one holding `state` (a line such as `READY=1`), that one included; `nil` when it does not
    /// come within `timeout` seconds.
    package func messages(until state: String, timeout: Double = 30) -> [String]? {
        let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
        var seen: [String] = []
        while ContinuousClock.now < deadline {
            guard let message = next(timeout: 0.2) else { continue }
            seen.append(message)
            if message.split(separator: "\n").contains(Substring(state)) { return seen }
        }
        return nil
    }
}
