import SASLDB
import SASLDBPostgres

#if canImport(Glibc)
import Glibc
#endif

// The PostgreSQL half of the sasldb tool: `sasldb` starts it, with the store's URL as its one argument, when the site
// configuration names a PostgreSQL store, and sends every backend call over standard input. It lives apart so the
// file-only tool does not load postgres-nio and Foundation at each start (about 5 ms).

/// Writes `message` on standard error and exits with `status`.
func fail(_ message: String, _ status: Int32) -> Never {
    let bytes = Array("sasldb-postgres: \(message)\n".utf8)
    _ = write(STDERR_FILENO, bytes, bytes.count)
    exit(status)
}

let arguments = CommandLine.arguments
guard arguments.count == 2, PostgresLocation.isURL(arguments[1]) else {
    fail("usage: sasldb-postgres postgresql://... (started by sasldb, speaking on standard input and output)", 64)
}
let location: PostgresLocation
do {
    location = try PostgresLocation(url: arguments[1])
} catch {
    fail("\(error)", 78)
}
let server = BackendHelperServer(
    backend: PostgresBackendProvider(mode: .single).makeBackend(location),
    input: STDIN_FILENO,
    output: STDOUT_FILENO
)
do {
    try server.serve()
} catch {
    fail("\(error)", 74)
}
