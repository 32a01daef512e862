/// `text` as a JSON string literal (RFC 8259 escapes).
package func jsonString(_ text: String) -> String {
    quotedText(text) { code in
        let hex = String(code, radix: 16)
        return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
    }
}

/// `text` in double quotes with `\"`, `\\`, `\n`, `\r` and `\t`, and every other control character as
/// `controlEscape` writes its code: what JSON strings and log tokens share.
package func quotedText(_ text: String, controlEscape: (UInt32) -> String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20 || scalar.value == 0x7F: out += controlEscape(scalar.value)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
