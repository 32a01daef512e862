/// A backend on a database server, whose tables the store's tools create and migrate (`sasldb db init`).
public protocol ServerBackend: CredentialBackend {
    /// Creates the store's tables, or migrates older ones to this program's version, in one transaction.
    ///
    /// - Returns: what was done.
    /// - Throws: ``SASLDBError/schemaVersion(store:found:supported:)`` for tables newer than this program, and the
    ///   backend's errors.
    func initializeSchema() throws -> SchemaInitialization
}

/// What ``ServerBackend/initializeSchema()`` did.
public enum SchemaInitialization: Sendable, Equatable, CustomStringConvertible {
    /// The tables were created at this version.
    case created(version: Int)
    /// Older tables were migrated.
    case migrated(from: Int, to: Int)
    /// The tables were already at this version; nothing changed.
    case current(version: Int)

    public var description: String {
        switch self {
        case .created(let version): return "created the sasldb tables (version \(version))"
        case .migrated(let from, let to): return "migrated the sasldb tables from version \(from) to \(to)"
        case .current(let version): return "the sasldb tables are current (version \(version))"
        }
    }
}
