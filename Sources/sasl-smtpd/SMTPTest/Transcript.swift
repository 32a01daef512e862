/// Prints the conversation: `SMTP>`/`SMTP<` before EHLO succeeds (and for the mail transaction), `ESMTP>`/`ESMTP<`
/// for the extended part, `Encoded:`/`Decoded:` lines for SASL, `********` where a line holds the password.
final class Transcript {
    /// Whether the EHLO part has begun (the prefix is `ESMTP`).
    var extended = false
    /// Whether the next line sent holds the password: its argument is shown as `********`.
    var maskNextSent = false

    func line(sent: Bool, _ text: String) {
        var shown = text
        if sent && maskNextSent {
            let words = text.split(separator: " ", maxSplits: 2)
            shown =
                words.count == 3 && words[0].uppercased() == "AUTH" ? "\(words[0]) \(words[1]) ********" : "********"
            maskNextSent = false
        }
        print("\(prefix(sent: sent)) \(shown)")
    }

    func decoded(sent: Bool, _ text: String) {
        print("\(prefix(sent: sent)) \(sent ? "Encoded" : "Decoded"): \(text.isEmpty ? "(empty)" : text)")
    }

    /// Bytes as one printable line: NUL as `␀`, other control characters as `?`.
    static func printable(_ bytes: [UInt8]) -> String {
        String(
            String(decoding: bytes, as: UTF8.self).unicodeScalars.map { scalar -> Character in
                scalar.value == 0 ? "\u{2400}" : (scalar.value < 0x20 || scalar.value == 0x7F ? "?" : Character(scalar))
            }
        )
    }

    private func prefix(sent: Bool) -> String { "\(extended ? "ESMTP" : "SMTP")\(sent ? ">" : "<")" }
}
