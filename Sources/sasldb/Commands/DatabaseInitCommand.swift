import ArgumentParser
import SASLDB

/// `sasldb db init`: creates the PostgreSQL store's tables, or migrates them to this version.
struct DatabaseInitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create the sasldb tables in the PostgreSQL store, or migrate older ones; run it after each upgrade.",
        discussion: """
            The role needs CREATE on the database's schema. Tables of a newer version than this program's are an \
            error (exit 78): upgrade sasldb instead. See Docs/postgresql.md for the roles MTAs and IMAP servers use.
            """
    )

    @OptionGroup var store: StoreOptions

    func run() throws {
        try reportingErrors {
            guard case .postgres(let location) = store.configuration.location else {
                throw SASLDBError.invalidValue(
                    "\(store.path) is a file; db init is for a PostgreSQL store (-f postgresql://... or postgres_url)"
                )
            }
            let backend = store.backend()
            guard let server = backend as? any ServerBackend else {
                // The helper is missing: its backend says so on any call.
                _ = try backend.recordKeys()
                return
            }
            let result = try server.initializeSchema()
            Output.error("sasldb: \(location.displayName): \(result)\n")
        }
    }
}
