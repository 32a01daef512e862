import ArgumentParser
import SASLDB

/// `sasldb verify`: check a password, like `testsaslauthd`.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a password: exit 0 and print OK when it is right, exit 1 and print NO when not.",
        discussion: """
            The plaintext is used when stored (as Cyrus does), otherwise any verifier. An unknown user and a wrong \
            password give the same answer.
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var realm: RealmOptions

    @Flag(help: "Read the password as one line from standard input, even on a terminal.")
    var stdin = false

    @Argument(help: "The user, as user or user@realm.")
    var user: String

    func run() throws {
        let ok = try reportingErrors { () throws -> Bool in
            let id = try realm.user(user)
            var password = try readPassword(confirm: false, fromStandardInput: stdin)
            defer { password.overwriteWithZeros() }
            return try CredentialStore(backend: store.backend()).verify(password: password, for: id)
        }
        Output.standard(ok ? "OK\n" : "NO\n")
        if !ok { throw ExitCode(1) }
    }
}
