import ServerKitTestSupport
import XCTest

@testable import SMTPSubmission

#if canImport(Glibc)
import Glibc

/// The server sets TCP_NODELAY and SO_KEEPALIVE on its listening sockets only (accepted sockets inherit them), not
/// with two `setsockopt` calls per connection: these tests read the options back from the accepted socket itself.
final class AcceptedSocketOptionsTests: XCTestCase {
    func testAcceptedConnectionsHaveNoDelayAndKeepAlive() async throws {
        let server = try await TestServer.start(kinds: [.submission, .plain])
        for index in 0..<2 {
            let client = try BlockingClient(port: server.port(index))
            defer { client.close() }
            XCTAssertTrue(try client.receive().hasPrefix("220 "))
            let accepted = try XCTUnwrap(
                Self.acceptedSocket(serverPort: server.port(index), clientPort: try client.localPort()),
                "the server's side of the connection is a descriptor of this process"
            )
            XCTAssertNotEqual(Self.option(accepted, level: Int32(IPPROTO_TCP), name: TCP_NODELAY), 0, "TCP_NODELAY")
            XCTAssertNotEqual(Self.option(accepted, level: SOL_SOCKET, name: SO_KEEPALIVE), 0, "SO_KEEPALIVE")
        }
        await server.stop()
    }

    /// This process's descriptor of the TCP socket bound to `serverPort` and connected to `clientPort`.
    private static func acceptedSocket(serverPort: Int, clientPort: Int) -> Int32? {
        guard let directory = opendir("/proc/self/fd") else { return nil }
        defer { closedir(directory) }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let fd = Int32(name) else { continue }
            if port(of: fd, using: getsockname) == serverPort, port(of: fd, using: getpeername) == clientPort {
                return fd
            }
        }
        return nil
    }

    /// The IPv4 port `call` (`getsockname` or `getpeername`) reports for `fd`, or nil.
    static func port(
        of fd: Int32,
        using call: (Int32, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32
    ) -> Int? {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let result = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { call(fd, $0, &length) }
        }
        guard result == 0, address.sin_family == sa_family_t(AF_INET) else { return nil }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private static func option(_ fd: Int32, level: Int32, name: Int32) -> Int32 {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, level, name, &value, &length) == 0 else { return -1 }
        return value
    }
}

/// A blocking IPv4 client socket on loopback, reads bounded by a 10-second timeout.
private struct BlockingClient {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSupportError("socket: errno \(errno)") }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            Glibc.close(fd)
            throw TestSupportError("connect to 127.0.0.1:\(port): errno \(errno)")
        }
    }

    func receive() throws -> String {
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = recv(fd, &buffer, buffer.count, 0)
        guard count > 0 else { throw TestSupportError("recv: \(count), errno \(errno)") }
        return String(decoding: buffer.prefix(count), as: UTF8.self)
    }

    func localPort() throws -> Int {
        guard let port = AcceptedSocketOptionsTests.port(of: fd, using: getsockname) else {
            throw TestSupportError("getsockname: errno \(errno)")
        }
        return port
    }

    func close() { Glibc.close(fd) }
}
#endif
