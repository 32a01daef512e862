#if canImport(Glibc)
import Glibc
#endif

/// Makes PostgreSQL backends served by the `sasldb-postgres` helper, for a program that should not link the
/// database client itself (the `sasldb` tool, whose every start would pay for it).
package struct HelperBackendProvider: ExternalBackendProvider {
    /// The helper's path.
    package let executable: String

    /// A provider starting `executable`.
    package init(executable: String) { self.executable = executable }

    package func makeBackend(_ location: PostgresLocation) -> any CredentialBackend {
        guard access(executable, X_OK) == 0 else {
            return UnsupportedBackend(
                error: .backend(
                    path: location.displayName,
                    detail: "\(executable) is not installed; it serves PostgreSQL stores to sasldb"
                )
            )
        }
        return HelperBackend(executable: executable, arguments: [location.description])
    }
}
