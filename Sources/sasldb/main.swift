import SASLDB

#if canImport(Glibc)
import Glibc
#endif

// The personality is chosen before ArgumentParser sees the arguments: Cyrus's tools take getopt-style flags that
// ArgumentParser would reject, and a symlink named saslpasswd2 must behave like it from the first byte.
let arguments = CommandLine.arguments
let invokedAs = arguments.first.map { name in String(name.split(separator: "/").last ?? Substring(name)) } ?? "sasldb"

func personality(_ name: String, _ rest: [String]) -> Int32? {
    switch name {
    case "saslpasswd2": return Saslpasswd2(program: name, arguments: rest).run()
    case "sasldblistusers2": return Sasldblistusers2(program: name, arguments: rest).run()
    case "sasl-sample-server": return SASLSampleServer(program: name, arguments: rest).run()
    default: return nil
    }
}

if let status = personality(invokedAs, Array(arguments.dropFirst())) {
    exit(status)
}
if arguments.count > 1, let status = personality(arguments[1], Array(arguments.dropFirst(2))) {
    exit(status)
}
SasldbCommand.main()
