/// Collects the text after DATA: removes dot-stuffing, counts the size, and recognises the end only as a line holding
/// a single dot that follows a CRLF, the CRLF.CRLF of RFC 5321 section 4.1.1.4.
///
/// A line that arrives right after a bare CR or LF is never the end, even when it is a single dot: the sequences
/// `<LF>.<LF>`, `<CR>.<CR>` and `<LF>.<CR><LF>` are how SMTP smuggling (CVE-2023-51764 and its kin) hides a second
/// message inside the first for a server that reads line endings more loosely than the next hop. Any bare line ending
/// refuses the whole message, so what reaches the sink was framed the same way by every reader.
///
/// A NUL octet refuses the message too: a next hop that drops NULs before it parses would take `<CR><LF><NUL>.<CR><LF>`
/// or `<CR><LF>.<NUL><CR><LF>` for the end of data.
///
/// Once a message is refused (too big, a line too long, a bare line ending, a NUL), further text is only counted past, not
/// stored, until the final dot.
struct MessageDataReceiver {
    /// The message: the prepended header, then the unstuffed lines, each ending in CRLF.
    private(set) var message: [UInt8]
    /// The bytes of message text received, the header not counted.
    private(set) var size = 0
    /// Set when the message can no longer be accepted (it is refused at its final dot); the first reason wins.
    private(set) var refusal: MessageRefusal?
    private let sizeLimit: Int
    /// Whether the previous line ended with a bare CR or LF, so that the next one does not start after a CRLF.
    private var followsBareLineEnding = false

    /// Starts a message with `header` (the `Received:` header) in front.
    init(header: [UInt8], sizeLimit: Int) {
        message = header
        self.sizeLimit = sizeLimit
    }

    /// Takes one line (without its CRLF); returns `true` when it was the final dot.
    mutating func receive(_ line: [UInt8]) -> Bool {
        let startsAfterCRLF = !followsBareLineEnding
        followsBareLineEnding = false
        // A decoder that passes CR or LF inside a line has seen a bare line ending.
        if line.contains(SMTPSyntax.carriageReturn) || line.contains(SMTPSyntax.lineFeed) {
            refuse(.bareLineEnding)
            return false
        }
        if line.contains(0) { refuse(.nulOctet) }
        if line == [UInt8(ascii: ".")], startsAfterCRLF { return true }
        let text = line.first == UInt8(ascii: ".") ? line.dropFirst() : line[...]
        size = size.addingReportingOverflow(text.count + 2).partialValue
        if size > sizeLimit || size < 0 { refuse(.tooBig) }
        if refusal == nil {
            message += text
            message += [SMTPSyntax.carriageReturn, SMTPSyntax.lineFeed]
        }
        return false
    }

    /// The driver dropped a line longer than the limit.
    mutating func lineTooLong() {
        followsBareLineEnding = false
        refuse(.lineTooLong)
    }

    /// The driver met a bare CR or LF.
    mutating func bareLineEnding() {
        followsBareLineEnding = true
        refuse(.bareLineEnding)
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
