import NIOCore
import XCTest

@testable import ServerKit

#if os(Linux)
import Glibc

/// A listener that binds one socket per event loop with SO_REUSEPORT claims its port first, so that a port another
/// server listens on fails its start instead of being shared.
final class ExclusivePortTests: XCTestCase {
    func testPortZeroClaimsAChosenPortAndTheClaimHoldsNothingOnceItReturns() throws {
        let port = try ExclusivePort.claim(try SocketAddress(ipAddress: "127.0.0.1", port: 0))
        XCTAssertGreaterThan(port, 0)
        XCTAssertEqual(try ExclusivePort.claim(try SocketAddress(ipAddress: "127.0.0.1", port: port)), port)
    }

    func testAPortListenedOnWithSOReusePortCannotBeClaimedThoughASecondSuchSocketWouldShareIt() throws {
        let first = try Self.reusePortListener(port: 0)
        defer { close(first.fd) }
        XCTAssertThrowsError(try ExclusivePort.claim(try SocketAddress(ipAddress: "127.0.0.1", port: first.port))) {
            XCTAssertTrue("\($0)".contains("in use"), "\($0)")
        }
        // What the claim prevents: a socket that sets SO_REUSEPORT joins the listening one on the same port.
        let second = try Self.reusePortListener(port: first.port)
        close(second.fd)
    }

    /// A socket with SO_REUSEPORT listening on 127.0.0.1:`port` (0: one the system chooses), and its port.
    private static func reusePortListener(port: Int) throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 8) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else {
            close(fd)
            throw ExclusivePortError("listening on 127.0.0.1:\(port): \(String(cString: strerror(errno)))")
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }
}
#endif
