/// The IP forms of RFC 5321 address literals (section 4.1.3), checked strictly.
enum AddressLiteralSyntax {
    /// `IPv4-address-literal = Snum 3("." Snum)`, each `Snum` 1 to 3 digits with a value up to 255.
    static func isIPv4(_ text: some Collection<UInt8>) -> Bool {
        let parts = text.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy(isSnum)
    }

    /// `IPv6-addr = IPv6-full / IPv6-comp / IPv6v4-full / IPv6v4-comp` of RFC 5321: eight groups, or fewer around
    /// one `::` that stands for at least two groups, so at most six groups beside it (the IPv4 tail counts as two).
    static func isIPv6(_ text: some Collection<UInt8>) -> Bool {
        let bytes = Array(text)
        var groups = 0
        var compressed = false
        var index = 0
        if bytes.starts(with: Array("::".utf8)) {
            compressed = true
            index = 2
        }
        var expectGroup = !compressed
        while index < bytes.count {
            // A group holding a dot is the IPv4 tail: it must take the rest of the text.
            let rest = bytes[index...]
            let group = rest.prefix { $0 != UInt8(ascii: ":") }
            if group.contains(UInt8(ascii: ".")) {
                guard group.count == rest.count, isIPv4(rest) else { return false }
                groups += 2
                index = bytes.count
                expectGroup = false
                break
            }
            var end = index
            while end < bytes.count, SMTPSyntax.isHexDigit(bytes[end]) { end += 1 }
            guard (1...4).contains(end - index) else { return false }
            groups += 1
            index = end
            expectGroup = false
            guard index < bytes.count else { break }
            guard bytes[index] == UInt8(ascii: ":") else { return false }
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: ":") {
                guard !compressed else { return false }
                compressed = true
                index += 1
            } else {
                expectGroup = true
            }
        }
        guard !expectGroup else { return false }
        return compressed ? groups <= 6 : groups == 8
    }

    private static func isSnum(_ part: some Collection<UInt8>) -> Bool {
        guard (1...3).contains(part.count), part.allSatisfy(SMTPSyntax.isDigit) else { return false }
        return part.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) } <= 255
    }
}
