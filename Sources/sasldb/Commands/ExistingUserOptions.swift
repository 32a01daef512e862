import ArgumentParser
import SASLDB

/// The arguments of a command that changes one existing user (`disable`, `enable`): the store, the realm, how to
/// write, and the user.
struct ExistingUserOptions: ParsableArguments {
    @OptionGroup var store: StoreOptions
    @OptionGroup var realm: RealmOptions
    @OptionGroup var writing: WriteOptions

    @Argument(help: "The user, as user or user@realm.")
    var user: String

    /// Applies `change` to the user, after checking that the user exists: an unknown user is exit 67 (EX_NOUSER),
    /// with nothing written.
    func update(_ change: (CredentialStore, UserID) throws -> Void) throws {
        try reportingErrors {
            let id = try realm.user(user)
            let credentials = CredentialStore(backend: writing.backend(for: store))
            guard try credentials.exists(id) else {
                Output.error("sasldb: \(id): no such user\n")
                throw ExitCode(67)
            }
            try change(credentials, id)
        }
    }
}
