#if canImport(Glibc)
import Glibc
#endif

/// The network a client address belongs to for failure counting: an IPv6 client owns a whole /64 (its addresses
/// change at will inside it), so counting each address apart would give it 2^64 fresh budgets; a site behind which
/// one IPv4 attacker holds many addresses may group those too.
package enum ClientAddressGroup {
    /// `address` (an IPv4 or IPv6 address as text) reduced to its first `ipv4PrefixLength` or `ipv6PrefixLength`
    /// bits, written `network/length`; the address itself at a full length; text that is not an address unchanged.
    package static func key(for address: String, ipv4PrefixLength: Int, ipv6PrefixLength: Int) -> String {
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 {
            guard ipv4PrefixLength < 32 else { return address }
            var bytes = withUnsafeBytes(of: v4) { Array($0) }
            mask(&bytes, prefixLength: ipv4PrefixLength)
            return bytes.map(String.init).joined(separator: ".") + "/\(max(ipv4PrefixLength, 0))"
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, address, &v6) == 1 {
            guard ipv6PrefixLength < 128 else { return address }
            var bytes = withUnsafeBytes(of: v6) { Array($0) }
            mask(&bytes, prefixLength: ipv6PrefixLength)
            var masked = in6_addr()
            withUnsafeMutableBytes(of: &masked) { $0.copyBytes(from: bytes) }
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            guard inet_ntop(AF_INET6, &masked, &text, socklen_t(text.count)) != nil else { return address }
            let network = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return network + "/\(max(ipv6PrefixLength, 0))"
        }
        return address
    }

    /// Clears every bit of `bytes` after the first `prefixLength`.
    private static func mask(_ bytes: inout [UInt8], prefixLength: Int) {
        for index in bytes.indices {
            let kept = min(max(prefixLength - index * 8, 0), 8)
            bytes[index] &= kept == 0 ? 0 : UInt8(truncatingIfNeeded: 0xFF << (8 - kept))
        }
    }
}
