/// Makes the backends of stores kept outside this library, on a database server: the seam through which a program
/// that links such a backend (the daemon links `SASLDBPostgres`; the `sasldb` tool its helper process) gets it for
/// every store ``StoreFactory`` makes, while programs that use files only never link a database client.
public protocol ExternalBackendProvider: Sendable {
    /// The backend of the PostgreSQL store at `location`.
    ///
    /// Nothing need be opened yet: a backend that cannot reach the server throws from its calls, so a program starts
    /// while the database is down and works once it is back.
    func makeBackend(_ location: PostgresLocation) -> any CredentialBackend
}
