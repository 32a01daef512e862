/// Cyrus's UTF-8 → ISO-8859-1 rule for DIGEST-MD5 (`UTF8_In_8859_1` / `MD5_UTF8_8859_1` in digestmd5.c).
///
/// A string is converted only when every byte is below 0xC0 or is a lead byte C0–C3 followed by a continuation byte
/// 80–BF; otherwise it is hashed as its raw UTF-8. Stray continuation bytes (80–BF) and ASCII pass through unchanged,
/// exactly as Cyrus does, so this is not a general UTF-8 validator.
package enum Latin1 {
    /// Whether Cyrus would convert `utf8` to ISO-8859-1.
    package static func isRepresentable(_ utf8: some Collection<UInt8>) -> Bool {
        var iterator = utf8.makeIterator()
        while let byte = iterator.next() {
            if byte < 0xC0 { continue }
            guard byte <= 0xC3, let next = iterator.next(), (0x80...0xBF).contains(next) else { return false }
        }
        return true
    }

    /// The ISO-8859-1 bytes of `utf8`, or `nil` when Cyrus would leave it unconverted.
    package static func convert(_ utf8: some Collection<UInt8>) -> [UInt8]? {
        var output: [UInt8] = []
        output.reserveCapacity(utf8.count)
        var iterator = utf8.makeIterator()
        while let byte = iterator.next() {
            if byte < 0xC0 {
                output.append(byte)
                continue
            }
            guard byte <= 0xC3, let next = iterator.next(), (0x80...0xBF).contains(next) else { return nil }
            output.append((byte & 0x03) << 6 | (next & 0x3F))
        }
        return output
    }

    /// The bytes Cyrus feeds into the DIGEST-MD5 hash: converted when representable, else `utf8` unchanged.
    package static func convertIfRepresentable(_ utf8: some Collection<UInt8>) -> [UInt8] {
        convert(utf8) ?? Array(utf8)
    }
}
