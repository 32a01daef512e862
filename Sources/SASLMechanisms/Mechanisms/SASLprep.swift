import CIDN
import Glibc

/// Limits of ``saslPrep(_:allowUnassigned:)-([UInt8],_)``.
public enum SASLprep {
    /// The longest input accepted, in bytes.
    ///
    /// Inputs are login names and authorization identities (already bounded by the mechanism's message limit) and
    /// stored passwords, which Cyrus keeps below 8192 bytes (its read buffer); NFKC can grow a string up to 18-fold,
    /// so this bound also caps what libidn allocates.
    public static let maximumInputLength = 8192
}

/// Prepares `text` with the SASLprep profile (RFC 4013) of stringprep, as SCRAM requires for names and passwords.
///
/// - Parameters:
///   - text: UTF-8 bytes, at most ``SASLprep/maximumInputLength`` long.
///   - allowUnassigned: `true` for a *query* (what a client sent: unassigned code points pass through), `false` for a
///     *stored string* (a password in the database: unassigned code points are an error), as RFC 3454 §7 defines.
/// - Returns: the prepared string as UTF-8 bytes; it may be empty (for example when the input is only U+00AD).
/// - Throws: ``SASLFailure/tooLong(limit:)`` for an input over the bound; ``SASLFailure/malformed(reason:)`` for
///   invalid UTF-8, a prohibited character (controls, NUL, private use, …), a bidirectional-rule violation or, for a
///   stored string, an unassigned code point.
public func saslPrep(_ text: [UInt8], allowUnassigned: Bool) throws(SASLFailure) -> [UInt8] {
    guard text.count <= SASLprep.maximumInputLength else { throw .tooLong(limit: SASLprep.maximumInputLength) }
    guard String(validating: text, as: UTF8.self) != nil else {
        throw .malformed(reason: "SASLprep: the string is not valid UTF-8")
    }
    // libidn reads a C string, so a NUL would silently cut the input; U+0000 is prohibited by RFC 4013 anyway.
    guard !text.contains(0) else { throw .malformed(reason: "SASLprep: the string contains a prohibited character") }
    var output: UnsafeMutablePointer<CChar>?
    // libidn allocates the result with malloc; it stays nil on failure, and free(nil) is harmless.
    defer { free(output) }
    let flags = allowUnassigned ? Stringprep_profile_flags(rawValue: 0) : STRINGPREP_NO_UNASSIGNED
    let terminated = text + [0]
    let status = terminated.withUnsafeBufferPointer { buffer in
        buffer.withMemoryRebound(to: CChar.self) { characters in
            stringprep_profile(characters.baseAddress, &output, "SASLprep", flags)
        }
    }
    guard status == Int32(STRINGPREP_OK.rawValue), let output else {
        throw .malformed(reason: "SASLprep: " + saslPrepFailureReason(status))
    }
    let length = strlen(output)
    return output.withMemoryRebound(to: UInt8.self, capacity: length + 1) {
        Array(UnsafeBufferPointer(start: $0, count: length))
    }
}

/// Prepares a Swift string; see ``saslPrep(_:allowUnassigned:)-([UInt8],_)``.
///
/// - Throws: as the byte version.
public func saslPrep(_ text: String, allowUnassigned: Bool) throws(SASLFailure) -> [UInt8] {
    try saslPrep(Array(text.utf8), allowUnassigned: allowUnassigned)
}

/// A log-friendly description of a libidn status; never contains the input, which may be a password.
private func saslPrepFailureReason(_ status: Int32) -> String {
    switch UInt32(bitPattern: status) {
    case STRINGPREP_CONTAINS_UNASSIGNED.rawValue:
        return "the string contains a code point unassigned in Unicode 3.2"
    case STRINGPREP_CONTAINS_PROHIBITED.rawValue:
        return "the string contains a prohibited character"
    case STRINGPREP_BIDI_BOTH_L_AND_RAL.rawValue, STRINGPREP_BIDI_LEADTRAIL_NOT_RAL.rawValue,
        STRINGPREP_BIDI_CONTAINS_PROHIBITED.rawValue:
        return "the string breaks the bidirectional-text rules"
    default:
        guard let message = stringprep_strerror(Stringprep_rc(rawValue: UInt32(bitPattern: status))) else {
            return "libidn failed with status \(status)"
        }
        return String(cString: message)
    }
}
