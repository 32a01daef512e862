/// The escaping of values in Dovecot's authentication protocol (its `str_tabescape`): a line is TAB-separated and
/// LF-terminated, so `\001`, TAB, CR and LF inside a value travel as `\001` followed by `1`, `t`, `r` or `n` (and NUL,
/// which Dovecot's reader also accepts, as `\0010`).
///
/// Postfix and Exim never unescape what they read: a value we send that needed escaping would reach them mangled,
/// which is why a login holding one of these bytes is refused rather than escaped (``DovecotAuthConnection``).
enum DovecotTabEscape {
    /// The escape byte.
    static let escapeByte: UInt8 = 0x01

    /// The bytes that must be escaped in a value (NUL included: a C peer would cut the value there).
    static func needsEscape(_ byte: UInt8) -> Bool {
        byte == 0x00 || byte == escapeByte || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
            || byte == UInt8(ascii: "\n")
    }

    /// `value` escaped for a line.
    static func escape(_ value: some Collection<UInt8>) -> [UInt8] {
        var escaped: [UInt8] = []
        escaped.reserveCapacity(value.count)
        for byte in value {
            switch byte {
            case 0x00: escaped += [escapeByte, UInt8(ascii: "0")]
            case escapeByte: escaped += [escapeByte, UInt8(ascii: "1")]
            case UInt8(ascii: "\t"): escaped += [escapeByte, UInt8(ascii: "t")]
            case UInt8(ascii: "\r"): escaped += [escapeByte, UInt8(ascii: "r")]
            case UInt8(ascii: "\n"): escaped += [escapeByte, UInt8(ascii: "n")]
            default: escaped.append(byte)
            }
        }
        return escaped
    }

    /// The value an escaped field stands for, or `nil` when an escape is broken: `\001` last, or followed by
    /// anything but `0`, `1`, `t`, `r`, `n`. Dovecot passes such a byte through; we refuse it, since no client that
    /// escapes correctly sends one.
    static func unescape(_ field: some Collection<UInt8>) -> [UInt8]? {
        var value: [UInt8] = []
        value.reserveCapacity(field.count)
        var escaping = false
        for byte in field {
            if escaping {
                escaping = false
                switch byte {
                case UInt8(ascii: "0"): value.append(0x00)
                case UInt8(ascii: "1"): value.append(escapeByte)
                case UInt8(ascii: "t"): value.append(UInt8(ascii: "\t"))
                case UInt8(ascii: "r"): value.append(UInt8(ascii: "\r"))
                case UInt8(ascii: "n"): value.append(UInt8(ascii: "\n"))
                default: return nil
                }
            } else if byte == escapeByte {
                escaping = true
            } else {
                value.append(byte)
            }
        }
        return escaping ? nil : value
    }
}
