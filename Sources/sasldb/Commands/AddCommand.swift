import ArgumentParser
import SASLDB

/// `sasldb add`: create a user or change a password.
struct AddCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Create a user or set a new password.",
        discussion: """
            On a terminal the password is asked twice without echo; otherwise (or with --stdin) one line is read \
            from standard input, without its line ending. All of the user's secrets are replaced in one atomic write.
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var realm: RealmOptions
    @OptionGroup var writing: WriteOptions
    @OptionGroup var secrets: SecretOptions

    @Flag(help: "Read the password as one line from standard input, even on a terminal.")
    var stdin = false

    @Argument(help: "The user, as user or user@realm (split at the first @).")
    var user: String

    func run() throws {
        try reportingErrors {
            let id = try realm.user(user)
            var password = try readPassword(confirm: true, fromStandardInput: stdin)
            defer { password.overwriteWithZeros() }
            try writing.credentialStore(for: store, policy: secrets.policy()).setPassword(
                password,
                for: id
            )
        }
    }
}
