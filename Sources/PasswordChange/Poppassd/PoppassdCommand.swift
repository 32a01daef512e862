/// One client line of the poppassd dialogue: a verb, and the rest of the line after one space.
///
/// The argument is everything after the first space, kept byte for byte: a password may hold spaces, and leading or
/// trailing ones are part of it. The server parses lines with ``init(line:)``; a client writes them with
/// ``encoded``.
public enum PoppassdCommand: Sendable, Equatable {
    /// `user <login>`.
    case user([UInt8])
    /// `pass <current password>`.
    case pass([UInt8])
    /// `newpass <new password>`.
    case newpass([UInt8])
    /// `quit`.
    case quit
    /// A verb this dialogue does not know, or a known one without its argument.
    case unrecognized

    /// Parses one line, without its line ending. Verbs are case-insensitive.
    public init(line: [UInt8]) {
        let space = line.firstIndex(of: UInt8(ascii: " "))
        let verb = line[..<(space ?? line.endIndex)]
        let argument = space.map { Array(line[($0 + 1)...]) }
        switch (Self.lowercased(verb), argument) {
        case ("user", let argument?): self = .user(argument)
        case ("pass", let argument?): self = .pass(argument)
        case ("newpass", let argument?): self = .newpass(argument)
        case ("quit", _): self = .quit
        default: self = .unrecognized
        }
    }

    /// The line a client sends, ending in CRLF; `nil` for ``unrecognized`` and for an argument holding CR or LF,
    /// which would end the line early and start another command.
    ///
    /// The line holds the argument, a password for `pass` and `newpass`: overwrite it once sent.
    public var encoded: [UInt8]? {
        let verb: String
        let argument: [UInt8]?
        switch self {
        case .user(let login): (verb, argument) = ("user", login)
        case .pass(let password): (verb, argument) = ("pass", password)
        case .newpass(let password): (verb, argument) = ("newpass", password)
        case .quit: (verb, argument) = ("quit", nil)
        case .unrecognized: return nil
        }
        let lineEnd = [UInt8(ascii: "\r"), UInt8(ascii: "\n")]
        guard let argument else { return Array(verb.utf8) + lineEnd }
        guard !argument.contains(where: lineEnd.contains) else { return nil }
        return Array(verb.utf8) + [UInt8(ascii: " ")] + argument + lineEnd
    }

    /// The verb in ASCII lowercase; bytes past ASCII make it match no verb.
    private static func lowercased(_ verb: ArraySlice<UInt8>) -> String {
        String(decoding: verb.map { (0x41...0x5A).contains($0) ? $0 + 0x20 : $0 }, as: UTF8.self)
    }
}
