import NIOCore

/// Frames the bytes of a Dovecot authentication client into lines: LF-terminated (a CR before the LF is dropped),
/// at most ``DovecotAuthConnection/maximumLineLength`` bytes, LF excluded; a longer line is an error that closes the
/// connection, as in Dovecot, rather than a buffer that grows with what a client sends.
struct DovecotLineDecoder: ByteToMessageDecoder {
    typealias InboundOut = [UInt8]

    /// A line longer than the limit.
    struct LineTooLong: Error {}

    let maximumLineLength: Int
    /// How far the buffer was searched for LF already, so a line trickled in byte by byte is scanned once.
    private var scanned = 0

    init(maximumLineLength: Int = DovecotAuthConnection.maximumLineLength) {
        self.maximumLineLength = maximumLineLength
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let view = buffer.readableBytesView
        let searchStart = view.startIndex + scanned
        guard let newline = view[searchStart...].firstIndex(of: UInt8(ascii: "\n")) else {
            scanned = view.count
            if view.count > maximumLineLength { throw LineTooLong() }
            return .needMoreData
        }
        let length = newline - view.startIndex
        guard length <= maximumLineLength else { throw LineTooLong() }
        var line = Array(view[view.startIndex..<newline])
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        buffer.moveReaderIndex(forwardBy: length + 1)
        scanned = 0
        context.fireChannelRead(Self.wrapInboundOut(line))
        return .continue
    }

    mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        // An unterminated line at the end is dropped: a request is only acted on once complete.
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}
