import NIOCore

#if canImport(Glibc)
import Glibc
#endif

#if os(Linux)
/// Claims a TCP port for a listener that binds one socket per event loop with `SO_REUSEPORT`.
///
/// Sockets that all set `SO_REUSEPORT` share a port (for the same user), so a listener bound that way would silently
/// share its port with another instance of the same server instead of failing to start. Binding the port first with a
/// socket of its own, without `SO_REUSEPORT`, fails while anything listens there, whatever options it set; the port
/// is then free for the listener's sockets.
package enum ExclusivePort {
    /// Binds a socket to `address` (with `SO_REUSEADDR`, as a listener binds, and without `SO_REUSEPORT`), closes it
    /// again and returns the port it was bound to: the one the system chose when `address` has port 0.
    ///
    /// - Throws: ``ExclusivePortError`` with the system's reason, `EADDRINUSE` when another socket listens there.
    package static func claim(_ address: SocketAddress) throws(ExclusivePortError) -> Int {
        let fd = socket(Int32(address.protocol.rawValue), Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ExclusivePortError("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var one: Int32 = 1
        guard setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            throw ExclusivePortError("setsockopt: \(String(cString: strerror(errno)))")
        }
        guard address.withSockAddr({ bind(fd, $0, socklen_t($1)) }) == 0 else {
            throw ExclusivePortError("\(address): \(String(cString: strerror(errno)))")
        }
        var bound = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw ExclusivePortError("getsockname: \(String(cString: strerror(errno)))") }
        return withUnsafePointer(to: &bound) { pointer in
            switch Int32(pointer.pointee.ss_family) {
            case AF_INET6:
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                    Int(UInt16(bigEndian: $0.pointee.sin6_port))
                }
            default:
                return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                    Int(UInt16(bigEndian: $0.pointee.sin_port))
                }
            }
        }
    }
}
#endif
