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
        // Appended in place, without a temporary array per piece: every reply of every session is encoded here.
        let code = String(code).utf8
        var out: [UInt8] = []
        out.reserveCapacity(lines.reduce(0) { $0 + $1.utf8.count + 12 + (enhancedCode?.utf8.count ?? 0) })
        for (index, line) in lines.enumerated() {
            out.append(contentsOf: code)
            out.append(index == lines.count - 1 ? UInt8(ascii: " ") : UInt8(ascii: "-"))
            if let enhancedCode {
                out.append(contentsOf: enhancedCode.utf8)
                out.append(UInt8(ascii: " "))
            }
            out.append(contentsOf: line.utf8)
            out.append(13)
            out.append(10)
        }
        return out
    }

    public var description: String { String(decoding: encoded, as: UTF8.self) }
}
