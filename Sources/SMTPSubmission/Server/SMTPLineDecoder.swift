import NIOCore

/// What the line decoder found in the client's bytes.
package enum SMTPLineEvent: Sendable, Equatable {
    /// A complete line, without its CRLF.
    case line([UInt8])
    /// A line longer than the limit in force. Its bytes up to the next CRLF are discarded as they arrive.
    case lineTooLong
    /// A bare CR or a bare LF (SMTP smuggling). The bytes before it, in the same line, are discarded; what follows it
    /// is the next line, which therefore does not start after a CRLF.
    case bareLineEnding
    /// Raw octets of a BDAT chunk (RFC 3030), as many as have arrived and at most ``SMTPLineDecoder/octetsToRead``.
    case octets([UInt8])
}

/// Frames SMTP input into lines (RFC 5321 §2.3.8): only CRLF ends a line.
///
/// A bare CR (not followed by LF) or a bare LF (not preceded by CR) is never taken as a line ending: it is reported as
/// ``SMTPLineEvent/bareLineEnding`` as soon as it is seen, and the bytes of the line before it are thrown away, so
/// `<LF>.<LF>` or `<CR>.<CR>` can never become a lone `.` line. The bytes after it come out as the next line; the
/// session knows that line does not follow a CRLF (so in `data<LF>.<CR><LF>` the `.` is not the end of the message)
/// and refuses the message or the command. Reporting it at once, not at the next CRLF, also answers a client that ends
/// lines with LF alone instead of leaving it waiting.
///
/// A line longer than ``maximumLineLength`` is reported as ``SMTPLineEvent/lineTooLong`` once, and its remaining bytes
/// are discarded up to the next CRLF: at most `maximumLineLength + 1` bytes of one line are ever held.
///
/// While ``octetsToRead`` is positive the decoder frames nothing: it passes that many octets through as they arrive
/// (a BDAT chunk, where CR and LF are data), then goes back to lines.
///
/// The decoder holds no bytes of its own, only the framing state, so it can be driven by a `ByteToMessageHandler` or by
/// a handler that owns the buffer (as ``SMTPSessionHandler`` does, so it can drop the buffer at STARTTLS; see
/// ``dropBufferedInput(_:)``).
package struct SMTPLineDecoder: NIOSingleStepByteToMessageDecoder {
    package typealias InboundOut = SMTPLineEvent

    /// The longest line accepted, in bytes, without its CRLF. The handler changes it between lines (command, AUTH and
    /// message text lines differ); a change applies from the next line.
    package var maximumLineLength: Int
    /// The octets to pass through raw before framing lines again; the handler sets it from the session after a BDAT
    /// command, and each ``SMTPLineEvent/octets`` counts down.
    package var octetsToRead = 0

    /// Whether the bytes being read belong to a line already reported as too long.
    private var discarding = false
    /// In discarding mode: whether the last byte thrown away was a CR (a CRLF may straddle two reads).
    private var discardedCR = false
    /// In normal mode: how many bytes at the front of the buffer were already scanned (no LF, no bare CR in them),
    /// so bytes arriving one at a time cost linear, not quadratic, time.
    private var scanned = 0

    /// Creates a decoder.
    ///
    /// - Parameter maximumLineLength: the longest line, without its CRLF.
    package init(maximumLineLength: Int) {
        self.maximumLineLength = max(1, maximumLineLength)
    }

    /// Decodes the next event from `buffer`, or returns `nil` when more bytes are needed.
    package mutating func decode(buffer: inout ByteBuffer) -> SMTPLineEvent? {
        while buffer.readableBytes > 0 {
            if octetsToRead > 0 { return readOctets(&buffer) }
            if discarding {
                guard skipDiscardedBytes(&buffer) else { return nil }
                continue
            }
            return scanLine(&buffer)
        }
        return nil
    }

    /// Decodes what is left at the end of the input: complete lines still come out; a partial line is dropped.
    package mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) -> SMTPLineEvent? {
        if let event = decode(buffer: &buffer) { return event }
        _ = dropBufferedInput(&buffer)
        return nil
    }

    /// Throws away every unread byte and forgets the state of a partial line.
    ///
    /// Called when TLS starts: anything the client sent after `STARTTLS`, before the handshake, was sent in the
    /// clear and must never be taken as a command of the protected session (CVE-2011-0411).
    ///
    /// - Returns: the number of bytes dropped.
    package mutating func dropBufferedInput(_ buffer: inout ByteBuffer) -> Int {
        let dropped = buffer.readableBytes
        buffer.moveReaderIndex(forwardBy: dropped)
        buffer.discardReadBytes()
        reset()
        return dropped
    }

    /// Forgets the state of a partial line (the bytes themselves belong to whoever holds the buffer).
    package mutating func reset() {
        discarding = false
        discardedCR = false
        scanned = 0
    }

    // MARK: - Scanning

    /// In raw mode: takes what has arrived of the chunk. The line scan restarts after it, at the front of the buffer.
    private mutating func readOctets(_ buffer: inout ByteBuffer) -> SMTPLineEvent {
        let count = min(octetsToRead, buffer.readableBytes)
        octetsToRead -= count
        scanned = 0
        return .octets(buffer.readBytes(length: count) ?? [])
    }

    /// In discarding mode: drops bytes up to and including the next CRLF. Returns `true` when it was found.
    private mutating func skipDiscardedBytes(_ buffer: inout ByteBuffer) -> Bool {
        var previousWasCR = discardedCR
        let end: Int? = buffer.withUnsafeReadableBytes { bytes in
            for index in bytes.indices {
                let byte = bytes[index]
                if byte == .lf && previousWasCR { return index + 1 }
                previousWasCR = byte == .cr
            }
            return nil
        }
        if let end {
            buffer.moveReaderIndex(forwardBy: end)
            discarding = false
            discardedCR = false
            scanned = 0
            return true
        }
        discardedCR = previousWasCR
        buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
        return false
    }

    /// What scanning the front of the buffer in normal mode found.
    private enum ScanResult {
        case line(contentLength: Int)
        case bareLineEnding(consumed: Int)
        case tooLong(consumed: Int, lastWasCR: Bool)
        case needMore(scanned: Int)
    }

    /// In normal mode: finds the next line, or the first bare line ending or overflow in it.
    private mutating func scanLine(_ buffer: inout ByteBuffer) -> SMTPLineEvent? {
        let limit = maximumLineLength
        let start = scanned
        let result: ScanResult = buffer.withUnsafeReadableBytes { bytes in
            var index = start
            while index < bytes.count {
                let byte = bytes[index]
                let previousIsCR = index > 0 && bytes[index - 1] == .cr
                if byte == .lf {
                    if previousIsCR { return .line(contentLength: index - 1) }
                    return .bareLineEnding(consumed: index + 1)
                }
                if previousIsCR {
                    // The CR before this byte is bare; this byte starts the next line.
                    return .bareLineEnding(consumed: index)
                }
                // A CR may be the first half of the CRLF, so it does not count towards the length yet.
                let contentLength = byte == .cr ? index : index + 1
                if contentLength > limit {
                    return .tooLong(consumed: index + 1, lastWasCR: byte == .cr)
                }
                index += 1
            }
            return .needMore(scanned: bytes.count)
        }
        switch result {
        case .line(let contentLength):
            scanned = 0
            if contentLength > limit {
                // The limit shrank after part of this line was scanned: still too long.
                buffer.moveReaderIndex(forwardBy: contentLength + 2)
                return .lineTooLong
            }
            let line = buffer.readBytes(length: contentLength) ?? []
            buffer.moveReaderIndex(forwardBy: 2)
            return .line(line)
        case .bareLineEnding(let consumed):
            buffer.moveReaderIndex(forwardBy: consumed)
            scanned = 0
            return .bareLineEnding
        case .tooLong(let consumed, let lastWasCR):
            buffer.moveReaderIndex(forwardBy: consumed)
            discarding = true
            discardedCR = lastWasCR
            scanned = 0
            return .lineTooLong
        case .needMore(let count):
            scanned = count
            return nil
        }
    }
}

extension UInt8 {
    fileprivate static let cr = UInt8(ascii: "\r")
    fileprivate static let lf = UInt8(ascii: "\n")
}
