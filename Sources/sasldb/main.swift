import CSystemShims
import SASLDB

#if canImport(Glibc)
import Glibc
#endif

// The personality is chosen before ArgumentParser sees the arguments: Cyrus's tools take getopt-style flags that
// ArgumentParser would reject, and a symlink named saslpasswd2 must behave like it from the first byte.
let arguments = CommandLine.arguments

// A site configuration that cannot be parsed stops every command (exit 78) before any store is touched; asking for
// help or the version needs none.
if !SiteConfig.isHelpOrVersion(arguments) { _ = SiteConfig.current }

func baseName(_ path: String) -> String { String(path.split(separator: "/").last ?? Substring(path)) }

// A PostgreSQL store is served by the sasldb-postgres helper beside this program: the file path links no database
// client, so its start stays as fast as Cyrus's tools.
StoreFactory.install(HelperBackendProvider(executable: PostgresHelper.path))

let invokedAs = arguments.first.map(baseName) ?? "sasldb"
// A setuid wrapper (Roundcube's chgsaslpasswd) execs /usr/sbin/saslpasswd2 with its own argv[0]: the path the
// kernel ran still names the personality.
let executedAs = sasldb_exec_path().map { baseName(String(cString: $0)) } ?? invokedAs

// Started setuid or setgid, the program is chgsaslpasswd whatever it is called: the caller chooses argv[0] and, with
// a link of its own, the exec path, so no name may reach a personality or command that takes a path or deletes.
if Host.isPrivileged {
    exit(Chgsaslpasswd(program: "chgsaslpasswd", arguments: Array(arguments.dropFirst())).run())
}

func personality(_ name: String, _ rest: [String]) -> Int32? {
    switch name {
    case "saslpasswd2": return Saslpasswd2(program: name, arguments: rest).run()
    case "chgsaslpasswd": return Chgsaslpasswd(program: name, arguments: rest).run()
    case "sasldblistusers2": return Sasldblistusers2(program: name, arguments: rest).run()
    case "sasl-sample-server": return SASLSampleServer(program: name, arguments: rest).run()
    default: return nil
    }
}

// The exec path first: Roundcube's own helper, itself named chgsaslpasswd, runs /usr/sbin/saslpasswd2 with its
// argv[0], and must get the saslpasswd2 it asked for.
if let status = personality(executedAs, Array(arguments.dropFirst())) {
    exit(status)
}
if let status = personality(invokedAs, Array(arguments.dropFirst())) {
    exit(status)
}
if arguments.count > 1, let status = personality(arguments[1], Array(arguments.dropFirst(2))) {
    exit(status)
}
SasldbCommand.main()
