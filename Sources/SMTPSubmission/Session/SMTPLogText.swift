/// Makes client-supplied text safe for a log line: printable ASCII stays, every other byte becomes `\xNN`, and the
/// result is cut at a length, so a client cannot forge log lines or flood the log through a login name.
enum SMTPLogText {
    /// The longest text kept, in bytes of input.
    static let maximumLength = 256

    static func clean(_ bytes: some Collection<UInt8>) -> String {
        var output = ""
        for byte in bytes.prefix(maximumLength) {
            if (32...126).contains(byte), byte != UInt8(ascii: "\\") {
                output.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = Array("0123456789abcdef".unicodeScalars)
                output += "\\x"
                output.unicodeScalars.append(hex[Int(byte >> 4)])
                output.unicodeScalars.append(hex[Int(byte & 0xF)])
            }
        }
        if bytes.count > maximumLength { output += "..." }
        return output
    }

    static func clean(_ text: String) -> String {
        clean(Array(text.utf8))
    }
}
