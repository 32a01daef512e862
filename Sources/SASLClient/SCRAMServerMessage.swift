/// The attributes of a SCRAM server message (RFC 5802 §7): `a=value` pairs separated by commas, each attribute one
/// ASCII letter.
struct SCRAMServerMessage {
    private var attributes: [Character: String] = [:]
    /// The attribute names in the order sent.
    private(set) var names: [Character] = []

    /// Parses `message` for `mechanism` (named in errors).
    ///
    /// - Throws: ``SASLClientError/malformedChallenge(mechanism:reason:)`` when the message is not UTF-8 or an element is
    ///   not `letter=value`.
    init(parsing message: [UInt8], mechanism: String) throws(SASLClientError) {
        guard let text = String(validating: message, as: UTF8.self) else {
            throw .malformedChallenge(mechanism: mechanism, reason: "the message is not UTF-8")
        }
        for element in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let name = element.first, name.isASCII, name.isLetter, element.dropFirst().first == "=" else {
                throw .malformedChallenge(mechanism: mechanism, reason: "an attribute is not of the form a=value")
            }
            if attributes[name] == nil { attributes[name] = String(element.dropFirst(2)) }
            names.append(name)
        }
    }

    /// The value of attribute `name`.
    subscript(name: Character) -> String? { attributes[name] }
}
