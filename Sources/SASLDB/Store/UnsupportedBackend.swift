/// A backend this program cannot open: every call throws the error that says why, so the failure shows where the
/// store is used, as for a file that is missing.
package struct UnsupportedBackend: CredentialBackend {
    /// Why the store cannot be used.
    package let error: SASLDBError

    /// A backend that throws `error` from every call.
    package init(error: SASLDBError) { self.error = error }

    package func fetch(_ user: UserID, properties: [Property]) throws -> [Property: [UInt8]] { throw error }

    package func records() throws -> [Record] { throw error }

    package func recordKeys() throws -> RecordKeyList { throw error }

    package func apply(_ batch: WriteBatch) throws { throw error }
}
