import CCrypto

/// RFC 4648 base64 with the standard alphabet, `=` padding and no line breaks: the encoding of SCRAM salts and keys.
///
/// Decoding is strict so that every accepted text is exactly what ``encode(_:)`` produces for its bytes: no whitespace,
/// a length that is a multiple of 4, padding only at the end, and zero bits in the unused part of the last character.
package enum Base64 {
    /// Encodes `bytes`.
    package static func encode(_ bytes: some Collection<UInt8>) -> String {
        let input = Array(bytes)
        var output: [UInt8] = []
        output.reserveCapacity((input.count + 2) / 3 * 4)
        // EVP_EncodeBlock takes an int length; whole groups of 3 bytes per call keep the pieces concatenable.
        let chunkLength = 3 << 14
        var start = 0
        while start < input.count {
            let end = min(start + chunkLength, input.count)
            let count = end - start
            var encoded = [UInt8](repeating: 0, count: (count + 2) / 3 * 4 + 1)
            let written = input.withUnsafeBufferPointer { source in
                encoded.withUnsafeMutableBufferPointer { target in
                    EVP_EncodeBlock(target.baseAddress, source.baseAddress.map { $0 + start }, Int32(count))
                }
            }
            guard written == encoded.count - 1 else { preconditionFailure("EVP_EncodeBlock wrote \(written) bytes") }
            output += encoded[0..<Int(written)]
            start = end
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes `text`, or returns `nil` when it is not canonical padded base64.
    package static func decode(_ text: some StringProtocol) -> [UInt8]? {
        decode(bytes: Array(text.utf8))
    }

    /// Decodes base64 given as ASCII bytes, or returns `nil` when it is not canonical padded base64.
    package static func decode(bytes text: some Collection<UInt8>) -> [UInt8]? {
        let input = Array(text)
        guard input.count % 4 == 0 else { return nil }
        guard !input.isEmpty else { return [] }
        let padding = input.suffix(2).reversed().prefix { $0 == UInt8(ascii: "=") }.count
        let body = input.dropLast(padding)
        // EVP_DecodeBlock skips whitespace and tolerates stray padding, so the alphabet is checked here first.
        var lastValue: UInt8 = 0
        for character in body {
            guard let value = sextet(character) else { return nil }
            lastValue = value
        }
        // The bits of the last character that fall past the final byte must be zero, or two texts would decode alike.
        if padding == 1, lastValue & 0b11 != 0 { return nil }
        if padding == 2, lastValue & 0b1111 != 0 { return nil }

        // Decoded straight into the result, which is never grown or copied: what a client sends here may be a
        // password (SMTP AUTH), and a moved or intermediate buffer would leave it behind in freed memory.
        var output = [UInt8](repeating: 0, count: input.count / 4 * 3)
        let chunkLength = 4 << 14
        var start = 0
        while start < input.count {
            let end = min(start + chunkLength, input.count)
            let count = end - start
            let written = input.withUnsafeBufferPointer { source in
                output.withUnsafeMutableBufferPointer { target in
                    EVP_DecodeBlock(
                        target.baseAddress.map { $0 + start / 4 * 3 },
                        source.baseAddress.map { $0 + start },
                        Int32(count)
                    )
                }
            }
            guard written == count / 4 * 3 else {
                output.overwriteWithZeros()
                return nil
            }
            start = end
        }
        // EVP_DecodeBlock counts the padding characters as if they were data bytes.
        output.removeLast(padding)
        return output
    }

    /// The 6-bit value of a base64 alphabet character.
    private static func sextet(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return character - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return character - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return character - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): return 62
        case UInt8(ascii: "/"): return 63
        default: return nil
        }
    }
}
