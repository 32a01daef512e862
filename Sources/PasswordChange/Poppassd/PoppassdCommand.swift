/// One client line of the poppassd dialogue: a verb, and the rest of the line after one space.
///
/// The argument is everything after the first space, kept byte for byte: a password may hold spaces, and leading or
/// trailing ones are part of it.
enum PoppassdCommand: Equatable {
    case user([UInt8])
    case pass([UInt8])
    case newpass([UInt8])
    case quit
    /// A verb this dialogue does not know, or a known one without its argument.
    case unrecognized

    init(line: [UInt8]) {
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

    /// The verb in ASCII lowercase; bytes past ASCII make it match no verb.
    private static func lowercased(_ verb: ArraySlice<UInt8>) -> String {
        String(decoding: verb.map { (0x41...0x5A).contains($0) ? $0 + 0x20 : $0 }, as: UTF8.self)
    }
}
