/// One SMTP reply: a code, an RFC 3463 enhanced status code, and one or more lines of text.
public struct SMTPReply: Sendable, Equatable, CustomStringConvertible {
    /// The three-digit reply code (RFC 5321).
    public var code: Int
    /// The enhanced status code (RFC 3463) such as `5.7.8`, repeated on every line; `nil` before EHLO-less greeting.
    public var enhancedCode: String?
    /// The text lines, without line endings; at least one.
    public var lines: [String]

    /// Creates a reply.
    public init(_ code: Int, _ enhancedCode: String?, _ lines: [String]) {
        self.code = code
        self.enhancedCode = enhancedCode
        self.lines = lines.isEmpty ? [""] : lines
    }

    /// Creates a one-line reply.
    public init(_ code: Int, _ enhancedCode: String?, _ text: String) {
        self.init(code, enhancedCode, [text])
    }

    /// The bytes sent on the wire: `250-first\r\n250 last\r\n`.
    public var encoded: [UInt8] {
        var out: [UInt8] = []
        for (index, line) in lines.enumerated() {
            out += Array(String(code).utf8)
            out.append(index == lines.count - 1 ? UInt8(ascii: " ") : UInt8(ascii: "-"))
            if let enhancedCode {
                out += Array(enhancedCode.utf8)
                out.append(UInt8(ascii: " "))
            }
            out += Array(line.utf8)
            out += [13, 10]
        }
        return out
    }

    public var description: String { String(decoding: encoded, as: UTF8.self) }
}
