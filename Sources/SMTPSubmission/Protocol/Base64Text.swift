import SASLDB

/// The base64 of AUTH exchanges (RFC 4954): standard alphabet, padded, strict.
enum Base64Text {
    /// The text of `bytes`; empty for no bytes.
    static func encode(_ bytes: [UInt8]) -> String {
        Base64.encode(bytes)
    }

    /// The bytes of a client response, or `nil` when it is not canonical base64 (501 5.5.2).
    static func decode(_ text: some Collection<UInt8>) -> [UInt8]? {
        Base64.decode(bytes: text)
    }
}
