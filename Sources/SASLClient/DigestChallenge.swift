/// The directives of a DIGEST-MD5 server message (RFC 2831 §2.1.1 digest-challenge, §2.1.3 response-auth):
/// `name=token` or `name="quoted string"`, separated by commas, spaces and tabs allowed around them.
///
/// A client only needs a few values from a server it chose to talk to, so this is lenient where the server side's
/// parser is strict: names are matched case-insensitively, the first of repeated names wins, and unknown names are
/// ignored. Anything it cannot split into directives is refused.
struct DigestChallenge {
    private var values: [String: [UInt8]] = [:]

    /// Parses `message`.
    ///
    /// - Throws: ``SASLClientError/malformedChallenge(mechanism:reason:)`` naming the rule broken.
    init(parsing message: [UInt8]) throws(SASLClientError) {
        var index = message.startIndex
        func skipBlanks() {
            while index < message.endIndex, message[index] == Self.space || message[index] == Self.tab { index += 1 }
        }
        while true {
            skipBlanks()
            guard index < message.endIndex else { return }
            if message[index] == Self.comma {
                index += 1
                continue
            }
            let nameStart = index
            while index < message.endIndex, Self.isTokenByte(message[index]) { index += 1 }
            let name = String(decoding: message[nameStart..<index], as: UTF8.self).lowercased()
            skipBlanks()
            guard !name.isEmpty, index < message.endIndex, message[index] == Self.equals else {
                throw Self.malformed("expected name=value")
            }
            index += 1
            skipBlanks()
            var value: [UInt8] = []
            if index < message.endIndex, message[index] == Self.quote {
                index += 1
                while true {
                    guard index < message.endIndex else { throw Self.malformed("a quoted value is not closed") }
                    let byte = message[index]
                    index += 1
                    if byte == Self.quote { break }
                    if byte == Self.backslash {
                        guard index < message.endIndex else { throw Self.malformed("a quoted value is not closed") }
                        value.append(message[index])
                        index += 1
                    } else {
                        value.append(byte)
                    }
                }
            } else {
                let valueStart = index
                while index < message.endIndex, Self.isTokenByte(message[index]) { index += 1 }
                value = Array(message[valueStart..<index])
            }
            if values[name] == nil { values[name] = value }
            skipBlanks()
            guard index == message.endIndex || message[index] == Self.comma else {
                throw Self.malformed("expected ',' after the directive '\(name)'")
            }
        }
    }

    /// The value of the first directive called `name` (lowercase).
    subscript(name: String) -> [UInt8]? { values[name] }

    /// The comma-separated items of a directive's value (`qop="auth,auth-int"`), without blanks.
    func list(_ name: String) -> [String] {
        guard let value = values[name] else { return [] }
        return value.split(separator: Self.comma).map {
            String(decoding: $0.filter { $0 != Self.space && $0 != Self.tab }, as: UTF8.self)
        }
    }

    private static func malformed(_ reason: String) -> SASLClientError {
        .malformedChallenge(mechanism: DigestMD5Client.name, reason: reason)
    }

    /// RFC 2616 token characters: printable ASCII except separators.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        (0x21...0x7E).contains(byte) && !separators.contains(byte)
    }

    private static let separators = Set(#"()<>@,;:\"/[]?={}"#.utf8)

    private static let space = UInt8(ascii: " ")
    private static let tab = UInt8(ascii: "\t")
    private static let comma = UInt8(ascii: ",")
    private static let equals = UInt8(ascii: "=")
    private static let quote = UInt8(ascii: "\"")
    private static let backslash = UInt8(ascii: "\\")
}
