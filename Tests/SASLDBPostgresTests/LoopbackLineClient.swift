import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A line-based TCP client on 127.0.0.1 whose every wait is bounded (5 s): enough for SMTP AUTH and poppassd.
final class LoopbackLineClient {
    private let fd: Int32
    private var buffered: [UInt8] = []

    /// Connects to `port`; `nil` when nothing accepts.
    init?(port: Int) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var limit = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(fd)
            return nil
        }
    }

    deinit { close(fd) }

    /// Sends `line` with CRLF.
    func send(_ line: String) {
        let bytes = Array((line + "\r\n").utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// The next line without its ending; `nil` on a timeout or a closed connection.
    func line() -> String? {
        while true {
            if let end = buffered.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffered[..<end], as: UTF8.self)
                buffered.removeSubrange(...end)
                return line.hasSuffix("\r") ? String(line.dropLast()) : line
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let got = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            // A child process of the test ending (SIGCHLD) interrupts the wait; it is not the server's answer.
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { return nil }
            buffered += chunk[..<got]
        }
    }

    /// The code of the next SMTP reply (its last line), 0 when none came.
    func smtpReply() -> Int {
        while let line = line() {
            guard line.count >= 4, line[line.index(line.startIndex, offsetBy: 3)] == "-" else {
                return Int(line.prefix(3)) ?? 0
            }
        }
        return 0
    }

    /// AUTH PLAIN on a fresh SMTP session at `port`: the reply code (235, 454, 535...), 0 when the server did not
    /// answer.
    static func authPlain(port: Int, user: String, password: String) -> Int {
        guard let client = LoopbackLineClient(port: port), client.smtpReply() == 220 else { return 0 }
        client.send("EHLO client.example.org")
        guard client.smtpReply() == 250 else { return 0 }
        client.send("AUTH PLAIN " + Data("\0\(user)\0\(password)".utf8).base64EncodedString())
        let code = client.smtpReply()
        client.send("QUIT")
        return code
    }

    /// A poppassd change at `port`: whether every step was accepted.
    static func changePassword(port: Int, user: String, old: String, new: String) -> Bool {
        guard let client = LoopbackLineClient(port: port), client.line()?.hasPrefix("200") == true else { return false }
        // Servers differ in the code of the first steps (200 or 300); a refusal is 500.
        for command in ["user \(user)", "pass \(old)", "newpass \(new)"] {
            client.send(command)
            guard let reply = client.line(), reply.hasPrefix("2") || reply.hasPrefix("3") else { return false }
        }
        client.send("quit")
        return true
    }
}
