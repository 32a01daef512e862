/// The pieces both frames of the password writer's protocol are built from: single bytes, 4-byte numbers, and fields
/// of up to 65535 bytes, each preceded by its length as two bytes; all big-endian.
///
/// The socket is `SOCK_SEQPACKET`, so a frame is one datagram and its end is the datagram's; the reader still
/// checks every length against a bound and that nothing follows the last field, so a frame decodes one way only.
struct PasswordWriterFrame {
    private let bytes: ArraySlice<UInt8>
    private var offset: Int

    /// A reader of `bytes`.
    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        offset = bytes.startIndex
    }

    /// Whether every byte was read.
    var isAtEnd: Bool { offset == bytes.endIndex }

    /// The next byte, `nil` at the end.
    mutating func byte() -> UInt8? {
        guard offset < bytes.endIndex else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// The next four bytes as a big-endian number, `nil` when fewer are left.
    mutating func uint32() -> UInt32? {
        guard bytes.endIndex - offset >= 4 else { return nil }
        defer { offset += 4 }
        return bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// The next length-prefixed field, `nil` when it is cut short or longer than `maximum`.
    mutating func field(maximum: Int) -> [UInt8]? {
        guard let high = byte(), let low = byte() else { return nil }
        let length = Int(high) << 8 | Int(low)
        guard length <= maximum, bytes.endIndex - offset >= length else { return nil }
        defer { offset += length }
        return Array(bytes[offset..<offset + length])
    }

    /// Appends `value` as four bytes, big-endian.
    static func append(_ value: UInt32, to frame: inout [UInt8]) {
        for shift in stride(from: 24, through: 0, by: -8) { frame.append(UInt8(truncatingIfNeeded: value >> shift)) }
    }

    /// Appends `field` with its length; the caller has bounded it below 65536.
    static func append(_ field: some Collection<UInt8>, to frame: inout [UInt8]) {
        frame.append(UInt8(truncatingIfNeeded: field.count >> 8))
        frame.append(UInt8(truncatingIfNeeded: field.count))
        frame.append(contentsOf: field)
    }
}
