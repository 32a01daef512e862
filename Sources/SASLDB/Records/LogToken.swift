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
    return quotedText(value) { code in "\\x" + (code < 0x10 ? "0" : "") + String(code, radix: 16) }
}
