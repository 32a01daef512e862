import NIOCore

/// Collects SMTP reply lines (`250-...` continued, `250 ...` last) from the bytes of a connection.
struct ReplyReader {
    /// One complete reply: its code and the text of its last line.
    struct Reply {
        var code: Int
        var lastLine: String
    }

    /// Longest line accepted; a longer one is a protocol error.
    static let lineLimit = 4096

    private var pending = ByteBuffer()

    /// Why the server's bytes are not an SMTP reply.
    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }

    /// Adds bytes read from the connection.
    mutating func append(_ buffer: inout ByteBuffer) {
        pending.writeBuffer(&buffer)
    }

    /// The next complete reply, if its last line has arrived.
    mutating func nextReply() throws(Malformed) -> Reply? {
        while true {
            let view = pending.readableBytesView
            guard let newline = view.firstIndex(of: UInt8(ascii: "\n")) else {
                if view.count > Self.lineLimit { throw Malformed(description: "reply line too long") }
                return nil
            }
            let length = newline - view.startIndex + 1
            guard let line = pending.readSlice(length: length) else { return nil }
            let bytes = line.readableBytesView
            guard bytes.count >= 5 else { throw Malformed(description: "short reply line") }
            let start = bytes.startIndex
            var code = 0
            for offset in 0..<3 {
                let digit = bytes[start + offset]
                guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "9") else {
                    throw Malformed(description: "reply without a code")
                }
                code = code * 10 + Int(digit - UInt8(ascii: "0"))
            }
            let separator = bytes[start + 3]
            if separator == UInt8(ascii: "-") { continue }
            let text = String(decoding: bytes.dropLast(bytes.last == 10 ? 1 : 0), as: UTF8.self)
            pending.discardReadBytes()
            return Reply(code: code, lastLine: text.trimmingSuffixCR())
        }
    }
}

extension String {
    fileprivate func trimmingSuffixCR() -> String {
        hasSuffix("\r") ? String(dropLast()) : self
    }
}
