import Foundation
import ServerKitTestSupport

/// A blocking client of a Dovecot auth socket for tests: writes lines, reads lines with a deadline.
final class DovecotSocketClient {
    private let descriptor: Int32
    private var buffer: [UInt8] = []

    /// Connects to the Unix-domain socket at `path`.
    init(path: String, timeoutSeconds: Int = 10) throws {
        descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestSupportError("socket: errno \(errno)") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() where index < raw.count - 1 { raw[index] = byte }
        }
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard status == 0 else {
            let code = errno
            close(descriptor)
            throw TestSupportError("connect \(path): errno \(code)")
        }
    }

    deinit { close(descriptor) }

    /// Writes `line` and its LF.
    func send(_ line: String) throws {
        try send(bytes: Array((line + "\n").utf8))
    }

    /// Writes raw bytes.
    func send(bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard written > 0 else { throw TestSupportError("write: errno \(errno)") }
            offset += written
        }
    }

    /// The next line without its LF; `nil` at end of stream.
    func readLine() throws -> String? {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count == 0 { return nil }
            guard count > 0 else { throw TestSupportError("read: errno \(errno) (timeout?)") }
            buffer += chunk[..<count]
        }
    }

    /// The handshake's lines, up to and including `DONE`.
    func readHandshake() throws -> [String] {
        var lines: [String] = []
        while let line = try readLine() {
            lines.append(line)
            if line == "DONE" { break }
        }
        return lines
    }
}
