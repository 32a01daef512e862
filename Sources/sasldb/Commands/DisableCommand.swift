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

    @OptionGroup var store: StoreOptions
    @OptionGroup var realm: RealmOptions
    @OptionGroup var writing: WriteOptions

    @Argument(help: "The user, as user or user@realm.")
    var user: String

    func run() throws {
        try reportingErrors {
            let id = try realm.user(user)
            let credentials = CredentialStore(backend: writing.backend(for: store))
            guard try credentials.exists(id) else {
                Output.error("sasldb: \(id): no such user\n")
                throw ExitCode(67)
            }
            try credentials.disable(id)
        }
    }
}

/// `sasldb enable`: undo `disable`.
struct EnableCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enable",
        abstract: "Let a disabled user log in again with their old password."
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var realm: RealmOptions
    @OptionGroup var writing: WriteOptions

    @Argument(help: "The user, as user or user@realm.")
    var user: String

    func run() throws {
        try reportingErrors {
            let id = try realm.user(user)
            let credentials = CredentialStore(backend: writing.backend(for: store))
            guard try credentials.exists(id) else {
                Output.error("sasldb: \(id): no such user\n")
                throw ExitCode(67)
            }
            try credentials.enable(id)
        }
    }
}
