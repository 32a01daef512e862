/// Splitting one fuzz input into the successive client messages of an exchange, and the placeholders a harness fills
/// with values only the server's challenge determines (its nonce) or only the password can produce (a digest or a
/// proof). Without them the fuzzer could never get past the nonce check or the proof check, so the code after them —
/// authorization, `rspauth`, the server signature, the final acknowledgement — would never run.

/// The byte that separates client messages in a fuzz input. 0xFF never occurs in UTF-8, so every SCRAM and LOGIN
/// message, valid or not, is still expressible (only DIGEST-MD5's ISO-8859-1 `ÿ` is lost).
public let messageSeparator: UInt8 = 0xFF

/// `input` cut at ``messageSeparator`` into at most `maxCount` messages (the last one keeps any further separators).
/// `a`, `a<FF>` and `a<FF>b` give one, two (the second empty) and two messages.
public func messages(_ input: [UInt8], maxCount: Int) -> [[UInt8]] {
    input.split(separator: messageSeparator, maxSplits: maxCount - 1, omittingEmptySubsequences: false).map(Array.init)
}

/// Placeholders understood by the mechanism harnesses.
public enum Placeholder {
    /// The server's nonce: DIGEST-MD5's `nonce`, SCRAM's combined `r` value.
    public static let nonce = Array("%N".utf8)
    /// A value computed from the password `pw`: DIGEST-MD5's and CRAM-MD5's response digest, SCRAM's `p` proof.
    public static let digest = Array("%D".utf8)
    /// SCRAM's `c=` value: base64 of the client-first GS2 header (plus the binding data for `p=<type>`).
    public static let channelBinding = Array("%C".utf8)
}

/// The first index at which `needle` starts in `haystack`.
public func firstIndex(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
    guard !needle.isEmpty, haystack.count >= needle.count else { return nil }
    for start in 0...(haystack.count - needle.count)
    where haystack[start..<(start + needle.count)].elementsEqual(needle) {
        return start
    }
    return nil
}

/// Whether `haystack` contains `needle`.
public func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    firstIndex(of: needle, in: haystack) != nil
}

/// `haystack` with every occurrence of `needle` replaced by `replacement`.
public func replacing(_ needle: [UInt8], with replacement: [UInt8], in haystack: [UInt8]) -> [UInt8] {
    guard !needle.isEmpty else { return haystack }
    var output: [UInt8] = []
    output.reserveCapacity(haystack.count)
    var index = 0
    while index < haystack.count {
        if index + needle.count <= haystack.count,
            haystack[index..<(index + needle.count)].elementsEqual(needle)
        {
            output += replacement
            index += needle.count
        } else {
            output.append(haystack[index])
            index += 1
        }
    }
    return output
}
