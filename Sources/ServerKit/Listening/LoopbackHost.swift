import NIOCore

/// Whether `host` is on the loopback interface: an address of `127.0.0.0/8`, `::1` (or `127.0.0.0/8` mapped into
/// IPv6), or `localhost`. Any other name counts as off the machine, whatever it resolves to today, and a name that
/// merely starts with `127.` is not an address.
///
/// The one test of every service: a listener that may serve passwords in the clear, a relay that may go without TLS.
package func isLoopbackHost(_ host: String) -> Bool {
    if host.lowercased() == "localhost" { return true }
    guard let address = try? SocketAddress(ipAddress: host, port: 0) else { return false }
    switch address {
    case .v4(let v4):
        return UInt32(bigEndian: v4.address.sin_addr.s_addr) >> 24 == 127
    case .v6(let v6):
        let bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
        let loopback: [UInt8] = Array(repeating: 0, count: 15) + [1]
        let mapped: [UInt8] = Array(repeating: 0, count: 10) + [0xFF, 0xFF]
        return bytes == loopback || (Array(bytes.prefix(12)) == mapped && bytes[12] == 127)
    default:
        return false
    }
}
