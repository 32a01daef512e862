import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// A datagram socket standing in for syslog's `/dev/log`, and the command line that runs a program with it in that
/// place: in a private mount namespace, an overlay on /dev whose `log` is this socket (the real /dev is not touched).
final class SyslogCapture {
    let socketPath: String
    private let directory: URL
    private let descriptor: Int32

    init(in directory: URL) throws {
        self.directory = directory
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        socketPath = directory.appendingPathComponent("log.sock").path
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in socketPath.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
        for part in ["upper", "work"] {
            try FileManager.default.createDirectory(
                at: directory.appendingPathComponent(part),
                withIntermediateDirectories: true
            )
        }
    }

    deinit { close(descriptor) }

    /// `unshare` arguments that run `program` with `arguments` where /dev/log is this socket.
    func isolatedCommand(_ program: String, _ arguments: [String]) -> [String] {
        let quoted = ([program] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let script = """
            mount -t overlay overlay -o lowerdir=/dev,upperdir=\(directory.path)/upper,workdir=\(directory.path)/work \
            /dev && touch /dev/log && mount --bind \(socketPath) /dev/log && exec \(quoted.joined(separator: " "))
            """
        return ["--mount", "--propagation", "private", "sh", "-c", script]
    }

    /// The datagrams received within `timeout` seconds of the last one (at most 20).
    func messages(timeout: Int32 = 5000) -> [String] {
        var received: [String] = []
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        while received.count < 20, poll(&poller, 1, received.isEmpty ? timeout : 200) == 1 {
            var buffer = [UInt8](repeating: 0, count: 8192)
            let count = recv(descriptor, &buffer, buffer.count, 0)
            guard count > 0 else { break }
            received.append(String(decoding: buffer.prefix(count), as: UTF8.self))
        }
        return received
    }
}
