import SASLDB
import SASLDBPostgres

#if canImport(Glibc)
import Glibc
#endif

// The PostgreSQL half of the sasldb tool: `sasldb` starts it, with the store's URL as its one argument, when the site
// configuration names a PostgreSQL store, and sends every backend call over standard input. It lives apart so the
// file-only tool does not load postgres-nio and Foundation at each start (about 5 ms).
let arguments = CommandLine.arguments
guard arguments.count == 2, PostgresLocation.isURL(arguments[1]) else {
    fputs(
        "usage: sasldb-postgres postgresql://... (started by sasldb, speaking on standard input and output)\n",
        stderr
    )
    exit(64)
}
let location: PostgresLocation
do {
    location = try PostgresLocation(url: arguments[1])
} catch {
    fputs("sasldb-postgres: \(error)\n", stderr)
    exit(78)
}
let server = BackendHelperServer(
    backend: PostgresBackendProvider(mode: .single).makeBackend(location),
    input: STDIN_FILENO,
    output: STDOUT_FILENO
)
do {
    try server.serve()
} catch {
    fputs("sasldb-postgres: \(error)\n", stderr)
    exit(74)
}
