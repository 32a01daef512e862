import NIOCore
import NIOSSL
import PostgresNIO
import SASLDB

extension SASLDBError {
    /// The store error for a failure of the PostgreSQL client: a refused login, missing tables, a value the table
    /// refuses, or (for anything that another try may cure) ``unavailable(store:detail:)``.
    init(postgres error: any Error, store: String, user: String) {
        if let known = error as? SASLDBError {
            self = known
        } else if let transaction = error as? PostgresTransactionError {
            let cause = transaction.closureError ?? transaction.beginError ?? transaction.commitError
            self =
                cause.map { SASLDBError(postgres: $0, store: store, user: user) }
                ?? .unavailable(store: store, detail: "the transaction failed")
        } else if let psql = error as? PSQLError {
            self = Self(psql: psql, store: store, user: user)
        } else if error is NIOSSLError {
            self = .backend(path: store, detail: "TLS to the database failed: \(error)")
        } else {
            self = .unavailable(store: store, detail: "\(error)")
        }
    }

    private init(psql error: PSQLError, store: String, user: String) {
        guard error.code == .server, let info = error.serverInfo else {
            if let underlying = error.underlying, underlying is NIOSSLError {
                self = .backend(path: store, detail: "TLS to the database failed: \(underlying)")
            } else if error.code == .sslUnsupported {
                self = .backend(
                    path: store,
                    detail: "the server does not offer TLS; set sslmode=disable only for a local server"
                )
            } else {
                self = .unavailable(store: store, detail: error.underlying.map { "\($0)" } ?? "\(error.code)")
            }
            return
        }
        let state = info[.sqlState] ?? ""
        let message = info[.message] ?? "an error \(state)"
        switch state {
        case "28P01", "28000":
            self = .loginRefused(store: store, user: user, detail: message)
        case "3D000":
            self = .backend(path: store, detail: "\(message); create it, then run sasldb db init")
        case "42P01":
            self = .schemaVersion(store: store, found: nil, supported: PostgresSchema.currentVersion)
        case "42501":
            self = .permissionDenied(path: store, operation: "write \(PostgresSchema.table) as \(user)")
        case "23514", "22001":
            self = .invalidValue("\(store): \(message)")
        default:
            // Class 08 (connection), 53 (resources), 57 (operator intervention: shutdown, restart) pass with time.
            if ["08", "53", "57"].contains(String(state.prefix(2))) {
                self = .unavailable(store: store, detail: message)
            } else {
                self = .backend(path: store, detail: message)
            }
        }
    }
}
