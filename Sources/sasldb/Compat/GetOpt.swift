/// POSIX `getopt` with glibc's argument permutation, for the Cyrus personalities.
///
/// ArgumentParser cannot reproduce getopt's exact messages and clustering (`-pc`, `-fpath`), which scripts written
/// for Cyrus's tools depend on, so these few lines do it by hand.
struct GetOpt {
    /// An option letter and its argument, if it takes one.
    struct Option: Equatable {
        let letter: Character
        let argument: String?
    }

    /// What went wrong, with glibc's message (without the program name).
    enum Failure: Error, Equatable {
        case invalidOption(Character)
        case missingArgument(Character)

        var message: String {
            switch self {
            case .invalidOption(let letter): return "invalid option -- '\(letter)'"
            case .missingArgument(let letter): return "option requires an argument -- '\(letter)'"
            }
        }
    }

    /// The options found, in order.
    private(set) var options: [Option] = []
    /// The operands, in order.
    private(set) var operands: [String] = []

    /// Parses `arguments` (without the program name) against `spec`, where a letter followed by `:` takes an argument.
    init(_ arguments: [String], spec: String) throws(Failure) {
        let letters = Array(spec)
        func takesArgument(_ letter: Character) -> Bool? {
            guard letter != ":", let index = letters.firstIndex(of: letter) else { return nil }
            return index + 1 < letters.count && letters[index + 1] == ":"
        }
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "--" {
                operands += arguments[index...]
                break
            }
            guard argument.hasPrefix("-"), argument.count > 1 else {
                operands.append(argument)
                continue
            }
            var rest = Substring(argument.dropFirst())
            while let letter = rest.first {
                rest = rest.dropFirst()
                guard let needsArgument = takesArgument(letter) else { throw .invalidOption(letter) }
                guard needsArgument else {
                    options.append(Option(letter: letter, argument: nil))
                    continue
                }
                if !rest.isEmpty {
                    options.append(Option(letter: letter, argument: String(rest)))
                } else if index < arguments.count {
                    options.append(Option(letter: letter, argument: arguments[index]))
                    index += 1
                } else {
                    throw .missingArgument(letter)
                }
                break
            }
        }
    }
}
