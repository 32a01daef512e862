/// The TLS reader's protocol, one datagram per frame on a `SOCK_SEQPACKET` socket pair: the daemon asks with
/// ``request``; the reader answers with the certificate chain and the key, each cut into parts of at most
/// ``maximumPart`` bytes (a chain may be larger than one datagram may be), then ``end``; or with one error frame.
enum TLSReaderFrame {
    /// "Read the certificate and the key again."
    static let request: [UInt8] = [1]
    /// A part of the certificate chain follows the tag.
    static let certificatePart: UInt8 = 1
    /// A part of the private key follows the tag.
    static let keyPart: UInt8 = 2
    /// Both are complete.
    static let end: UInt8 = 3
    /// The reader could not read them; the reason (UTF-8) follows the tag.
    static let error: UInt8 = 4
    /// The largest part of one frame, well below the socket's default buffer.
    static let maximumPart = 32768

    /// The frames that carry `certificate` and `key`.
    static func frames(certificate: [UInt8], key: [UInt8]) -> [[UInt8]] {
        var frames: [[UInt8]] = []
        for (tag, bytes) in [(certificatePart, certificate), (keyPart, key)] {
            var start = 0
            while start < bytes.count {
                let stop = min(bytes.count, start + maximumPart)
                frames.append([tag] + bytes[start..<stop])
                start = stop
            }
        }
        return frames + [[end]]
    }
}
