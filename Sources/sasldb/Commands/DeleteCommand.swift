import ArgumentParser
import SASLDB

/// `sasldb delete`: remove a user and every property.
struct DeleteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Remove a user and every property stored for them."
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var realm: RealmOptions
    @OptionGroup var writing: WriteOptions

    @Flag(help: "Succeed silently when the user does not exist.")
    var ignoreMissing = false

    @Argument(help: "The user, as user or user@realm.")
    var user: String

    func run() throws {
        try reportingErrors {
            let id = try realm.user(user)
            let existed = try CredentialStore(backend: writing.backend(for: store)).deleteUser(id)
            if !existed && !ignoreMissing {
                Output.error("sasldb: \(id): no such user\n")
                throw ExitCode(67)  // EX_NOUSER
            }
        }
    }
}
