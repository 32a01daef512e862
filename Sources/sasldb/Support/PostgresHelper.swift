import CSystemShims
import SASLDB

/// Where the `sasldb-postgres` helper is: `$SASLDB_POSTGRES_HELPER` (never for a privileged run), else beside this
/// program's executable.
enum PostgresHelper {
    /// The helper's name.
    static let name = "sasldb-postgres"

    /// The helper's path.
    static var path: String {
        if let chosen = Host.environment("SASLDB_POSTGRES_HELPER") { return chosen }
        guard let executable = sasldb_exec_path().map({ String(cString: $0) }),
            let slash = executable.lastIndex(of: "/")
        else { return "/usr/sbin/" + name }
        return String(executable[...slash]) + name
    }
}
