import ArgumentParser
import SASLDB

/// `sasldb disable`: lock a user out, keeping the secrets for `enable`.
struct DisableCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disable",
        abstract: "Lock a user out without losing the password.",
        discussion: """
            The user's secrets move to properties named disabled:<property>, which no SASL mechanism reads \
            (Cyrus's included), so logins fail until `sasldb enable`.
            """
    )

    @OptionGroup var target: ExistingUserOptions

    func run() throws {
        try target.update { store, user in try store.disable(user) }
    }
}
