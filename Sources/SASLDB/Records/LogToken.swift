/// `value` as one token of a `key=value` log line: as is when it is plain, else in double quotes with `\"`, `\\`,
/// `\n`, `\r`, `\t` and `\xHH` escapes, so whatever a client sent (a login with a line feed, a quote, an `=`) can
/// neither end the line nor forge a field.
package func logToken(_ value: String) -> String {
    let plain =
        !value.isEmpty
        && value.unicodeScalars.allSatisfy { scalar in
            scalar.value > 0x20 && scalar.value != 0x7F && scalar != "\"" && scalar != "=" && scalar != "\\"
        }
    if plain { return value }
    var out = "\""
    for scalar in value.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F {
                out += "\\x" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}
