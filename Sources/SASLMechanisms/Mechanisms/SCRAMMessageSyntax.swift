import SASLDB

/// The rules every SCRAM client message shares (RFC 5802 §5.1, §7): the envelope, `name=value` attributes, saslnames
/// and the character classes, for ``SCRAMClientFirstMessage`` and ``SCRAMClientFinalMessage``.
enum SCRAMSyntax {
    static let comma = UInt8(ascii: ",")
    static let equals = UInt8(ascii: "=")

    /// Attribute names RFC 5802 defines; anywhere else than their own place they are an error, not an extension.
    static let reservedAttributes: Set<UInt8> = Set("acimnprsve".utf8)

    /// Checks what every client message must satisfy before it is parsed.
    static func checkEnvelope(_ message: [UInt8], what: String) throws(SASLFailure) {
        guard message.count <= SCRAMServerExchange.maximumMessageLength else {
            throw .tooLong(limit: SCRAMServerExchange.maximumMessageLength)
        }
        guard String(validating: message, as: UTF8.self) != nil else {
            throw .malformed(reason: "SCRAM: the \(what) message is not valid UTF-8")
        }
        guard !message.contains(0) else { throw .malformed(reason: "SCRAM: the \(what) message contains NUL") }
    }

    /// One `name=value` attribute of a SCRAM message; the value is a slice of the message, so its position is known.
    typealias Attribute = (name: UInt8, value: ArraySlice<UInt8>)

    /// Splits `text` into `name=value` attributes, checking the shape RFC 5802 gives every one: one ASCII letter, `=`,
    /// and a non-empty value.
    static func attributes(of text: ArraySlice<UInt8>, what: String) throws(SASLFailure) -> [Attribute] {
        var result: [Attribute] = []
        for piece in text.split(separator: comma, omittingEmptySubsequences: false) {
            guard piece.count >= 2, let name = piece.first, isASCIILetter(name),
                piece[piece.startIndex + 1] == equals
            else {
                throw .malformed(reason: "SCRAM: an attribute of the \(what) message is not of the form x=value")
            }
            let value = piece.dropFirst(2)
            guard !value.isEmpty else {
                throw .malformed(
                    reason: "SCRAM: the attribute \(Character(Unicode.Scalar(name)))= of the \(what) message is empty"
                )
            }
            result.append((name, value))
        }
        return result
    }

    /// Rejects a defined attribute where only extensions may stand (RFC 5802 §5.1: unknown extensions are ignored).
    static func checkExtensions(
        _ extensions: ArraySlice<Attribute>,
        what: String
    ) throws(SASLFailure) {
        for attribute in extensions where reservedAttributes.contains(attribute.name) {
            let name = Character(Unicode.Scalar(attribute.name))
            throw .malformed(reason: "SCRAM: the attribute \(name)= is repeated or out of place in the \(what) message")
        }
    }

    static func isASCIILetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    /// Decodes a saslname: `=2C` is a comma, `=3D` an equals sign, and any other `=` is an error (RFC 5802 §5.1).
    static func decodeSASLName(_ text: ArraySlice<UInt8>, what: String) throws(SASLFailure) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(text.count)
        var index = text.startIndex
        while index < text.endIndex {
            let byte = text[index]
            guard byte == equals else {
                output.append(byte)
                index += 1
                continue
            }
            let escape = text[(index + 1)..<min(index + 3, text.endIndex)]
            if escape.elementsEqual("2C".utf8) {
                output.append(comma)
            } else if escape.elementsEqual("3D".utf8) {
                output.append(equals)
            } else {
                throw .malformed(reason: "SCRAM: the \(what) contains '=' not followed by 2C or 3D")
            }
            index += 3
        }
        return output
    }

    /// printable = %x21-2B / %x2D-7E (the comma is excluded already by the split).
    static func isPrintable(_ byte: UInt8) -> Bool {
        (0x21...0x7E).contains(byte) && byte != comma
    }
}
