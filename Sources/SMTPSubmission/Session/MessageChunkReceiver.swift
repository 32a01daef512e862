/// Collects the message of a BDAT transaction (RFC 3030): the octets of each chunk as they are, with no dot-stuffing
/// to remove and no end marker to find, since the client announces the size of every chunk.
///
/// The octets are still checked as DATA's lines are, because the message later goes to sinks and MTAs that speak
/// DATA: a bare CR or LF would be framed differently by the next hop than by us (SMTP smuggling, CVE-2023-51764), and
/// a line longer than the text line limit would have to be broken by it, and a NUL octet could be dropped by it before
/// it parses. Each refuses the message with the reply DATA gives. A CRLF split between two chunks is a CRLF; a CR that ends the last chunk is bare.
///
/// Once the message is refused, further octets are only counted past, not stored.
struct MessageChunkReceiver {
    /// The message: the prepended header, then the octets of the chunks.
    private(set) var message: [UInt8]
    /// The octets announced so far, the header not counted.
    private(set) var size = 0
    /// Set when the message can no longer be accepted; the first reason wins.
    private(set) var refusal: MessageRefusal?
    private let sizeLimit: Int
    /// The most octets of a line before its CRLF.
    private let lineLimit: Int
    /// The octets of the current line so far (a CR that may start its CRLF not counted).
    private var lineLength = 0
    /// Whether the last octet was a CR whose LF may still come, in the next octet or the next chunk.
    private var pendingCR = false

    /// Starts a message with `header` (the `Received:` header) in front.
    ///
    /// - Parameters:
    ///   - sizeLimit: the largest message, in octets.
    ///   - lineLimit: the longest line, CRLF included, as ``SMTPLimits/textLineLength``.
    init(header: [UInt8], sizeLimit: Int, lineLimit: Int) {
        message = header
        self.sizeLimit = sizeLimit
        self.lineLimit = lineLimit - 2
    }

    /// A BDAT command announced `count` more octets: the message is refused as soon as the total would exceed the
    /// limit, before the octets arrive.
    mutating func announce(_ count: Int) {
        let (total, overflow) = size.addingReportingOverflow(count)
        size = overflow ? .max : total
        if overflow || total > sizeLimit { refuse(.tooBig) }
    }

    /// Takes octets of the current chunk, as they arrive.
    mutating func receive(_ octets: [UInt8]) {
        guard refusal == nil else { return }
        for octet in octets {
            if pendingCR {
                pendingCR = false
                if octet == SMTPSyntax.lineFeed {
                    lineLength = 0
                    continue
                }
                return refuse(.bareLineEnding)
            }
            if octet == SMTPSyntax.carriageReturn {
                pendingCR = true
            } else if octet == SMTPSyntax.lineFeed {
                return refuse(.bareLineEnding)
            } else if octet == 0 {
                return refuse(.nulOctet)
            } else {
                lineLength += 1
                if lineLength > lineLimit { return refuse(.lineTooLong) }
            }
        }
        message += octets
    }

    /// The last chunk has been read. A CR still waiting for its LF is bare. A last line without its CRLF gets one,
    /// since every sink takes lines ending in CRLF, as DATA always delivers them.
    mutating func finish() {
        guard refusal == nil else { return }
        if pendingCR { return refuse(.bareLineEnding) }
        if lineLength > 0 { message += [SMTPSyntax.carriageReturn, SMTPSyntax.lineFeed] }
    }

    /// The server may hold no more message bytes: the message is refused (452) and what it held is freed now.
    mutating func storageExhausted() {
        refuse(.storageExhausted)
    }

    private mutating func refuse(_ reason: MessageRefusal) {
        if refusal == nil { refusal = reason }
        // Nothing of a refused message is delivered: free it now rather than hold up to the size limit.
        message = []
    }
}
