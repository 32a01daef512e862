import ArgumentParser
import SASLDB

/// `sasldb enable`: undo `disable`.
struct EnableCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enable",
        abstract: "Let a disabled user log in again with their old password."
    )

    @OptionGroup var target: ExistingUserOptions

    func run() throws {
        try target.update { store, user in try store.enable(user) }
    }
}
