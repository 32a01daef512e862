import SASLDB

/// The `sasldblistusers2` personality: one `authid@realm: property` line per record, in the file's order.
///
/// Unlike Cyrus, a record whose key is malformed is reported (exit 1) instead of making the listing loop forever.
struct Sasldblistusers2 {
    let program: String
    let arguments: [String]

    func run() -> Int32 {
        var path = "/etc/sasldb2"
        if arguments.count == 1, !arguments[0].hasPrefix("-") {
            path = arguments[0]
        } else {
            let parsed: GetOpt
            do {
                parsed = try GetOpt(arguments, spec: "vf:h?")
            } catch {
                Output.error("\(program): \(error.message)\n")
                return usage(unrecognized: true)
            }
            for option in parsed.options {
                switch option.letter {
                case "v":
                    Output.error(CyrusBanner.attribution + CyrusBanner.versions)
                    return 0
                case "f": path = option.argument ?? path
                default: return usage(unrecognized: false)
                }
            }
            guard parsed.operands.isEmpty else { return usage(unrecognized: false) }
        }
        let keys: RecordKeyList
        do {
            keys = try StoreFactory.makeBackend(StoreConfiguration.file(path)).recordKeys()
        } catch let error as SASLDBError {
            // Cyrus exits 0 after "listusers failed"; scripts rely on both, so both are kept.
            CyrusBanner.printLibraryMessage(for: error)
            Output.error("listusers failed\n")
            return 0
        } catch {
            Output.error("listusers failed\n")
            return 0
        }
        var out = OutputBuffer()
        var malformed: Int?
        keys.forEachKey { key in
            guard malformed == nil else { return }
            guard let first = key.firstIndex(of: 0), let second = key[(first + 1)...].firstIndex(of: 0),
                !key[(second + 1)...].contains(0)
            else {
                malformed = key.count
                return
            }
            out.append(bytes: key[..<first])
            out.append("@")
            out.append(bytes: key[(first + 1)..<second])
            out.append(": ")
            out.append(bytes: key[(second + 1)...])
            out.append("\n")
        }
        out.flush()
        // Cyrus loops forever on a malformed key; we say so and fail instead.
        if let malformed {
            Output.error("\(program): \(SASLDBError.malformedKey(path: path, keyLength: malformed))\n")
            return 1
        }
        return 0
    }

    private func usage(unrecognized: Bool) -> Int32 {
        Output.error(
            CyrusBanner.attribution + """
                \(program): usage: \(program) [-v] [[-f] sasldb]
                \t-f sasldb\tuse given file as sasldb
                \t-v\tprint version numbers and exit

                """ + (unrecognized ? "Unrecognized command line option\n" : "")
        )
        return 1
    }
}
