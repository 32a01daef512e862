import NIOCore

/// What the poppassd line decoder found in the client's bytes.
enum PoppassdLineEvent: Equatable {
    /// A complete line, without its line ending.
    case line([UInt8])
    /// A line longer than the limit; the session closes the connection.
    case lineTooLong
}

/// Frames poppassd input into lines: LF ends a line and a CR just before it is dropped.
///
/// Unlike SMTP, there is no message text whose line endings could be smuggled, and classic poppassd clients end lines
/// with LF alone (Roundcube's `Net_Socket` sends CRLF), so both are taken. Every other byte, a lone CR or a NUL
/// included, stays in the line: it may be part of a password, which the policy then refuses. At most
/// `maximumLineLength + 1` bytes of one line are held.
struct PoppassdLineDecoder: NIOSingleStepByteToMessageDecoder {
    typealias InboundOut = PoppassdLineEvent

    /// The longest line accepted, in bytes, without its line ending.
    let maximumLineLength: Int
    /// Whether a line was reported as too long: nothing more is decoded (the connection is closing).
    private var overflowed = false

    init(maximumLineLength: Int) {
        self.maximumLineLength = max(1, maximumLineLength)
    }

    mutating func decode(buffer: inout ByteBuffer) -> PoppassdLineEvent? {
        guard !overflowed else {
            buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
            return nil
        }
        let view = buffer.readableBytesView
        // The CR of a CRLF is not counted, so a line of exactly the limit may arrive with either ending.
        let searched = view.prefix(maximumLineLength + 2)
        guard let newline = searched.firstIndex(of: UInt8(ascii: "\n")) else {
            if searched.count > maximumLineLength + 1
                || (searched.count == maximumLineLength + 1 && searched.last != UInt8(ascii: "\r"))
            {
                overflowed = true
                return .lineTooLong
            }
            return nil
        }
        var line = Array(view[view.startIndex..<newline])
        buffer.moveReaderIndex(forwardBy: line.count + 1)
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        guard line.count <= maximumLineLength else {
            overflowed = true
            return .lineTooLong
        }
        return .line(line)
    }

    mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) -> PoppassdLineEvent? {
        // A line cut off by the end of the input is not a command.
        decode(buffer: &buffer)
    }
}
