#if canImport(Glibc)
import Glibc
#endif

/// The `sockaddr_un` of a Unix-domain socket given as a path, or as `@name` for Linux's abstract namespace (the form
/// systemd writes `$NOTIFY_SOCKET` in), for the clients that call `connect` or `sendto` themselves.
package struct UnixSocketAddress {
    private var address = sockaddr_un()
    private let length: socklen_t

    /// The address of `path`.
    ///
    /// - Throws: ``LocalSocketError`` when the name is empty or does not fit in `sun_path`.
    package init(_ path: String) throws(LocalSocketError) {
        var name = Array(path.utf8)
        // An abstract name starts with a NUL byte and ends where the length says, without a terminator.
        let abstract = name.first == UInt8(ascii: "@")
        if abstract { name[0] = 0 }
        guard name.count > (abstract ? 1 : 0), name.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw LocalSocketError("\(path) is not a usable socket address (empty, or too long)")
        }
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: name) }
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path) ?? 2
        length = socklen_t(pathOffset + name.count + (abstract ? 0 : 1))
    }

    /// Calls `body` with the address and its length, as `connect` and `sendto` take them.
    package func withSocketAddress<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> Result) -> Result {
        withUnsafePointer(to: address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }
}
