/// A SCRAM server-first message, parsed: `r=nonce,s=salt,i=iterations`.
public struct ServerFirst {
    /// The combined nonce.
    public var nonce: [UInt8]
    /// The salt, decoded.
    public var salt: [UInt8]
    /// The iteration count.
    public var iterations: Int

    /// Parses `message`; `nil` when it is not of that form.
    public init?(_ message: [UInt8]) {
        let fields = message.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
        guard fields.count == 3, fields[0].starts(with: "r=".utf8), fields[1].starts(with: "s=".utf8),
            fields[2].starts(with: "i=".utf8),
            let salt = base64Decode(fields[1].dropFirst(2)), !salt.isEmpty,
            let iterations = Int(String(decoding: fields[2].dropFirst(2), as: UTF8.self)), iterations > 0
        else { return nil }
        nonce = Array(fields[0].dropFirst(2))
        self.salt = salt
        self.iterations = iterations
    }
}
