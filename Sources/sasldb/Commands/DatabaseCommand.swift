import ArgumentParser

/// `sasldb db`: the tables of a store on a database server.
struct DatabaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Create or migrate the tables of a PostgreSQL store.",
        subcommands: [DatabaseInitCommand.self]
    )
}
