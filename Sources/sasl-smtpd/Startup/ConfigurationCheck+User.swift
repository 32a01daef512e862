/// The checks `--check-config` makes for the user the daemon will serve as: what it must reach once it has given up
/// root, which a check made as root cannot see.
extension ConfigurationCheck {
    /// One sentence per file or directory the daemon's user will not be able to use.
    static func userProblems(_ configuration: DaemonConfiguration, identity: RunIdentity?) -> [String] {
        let access = AccessCheck(identity: identity)
        var problems: [String] = []
        // A PostgreSQL store has no file to reach: only a file store is checked here.
        if case .file(let database) = configuration.store.location {
            problems += databaseProblems(database, access: access)
        }
        if configuration.passwordServiceEnabled, !configuration.passwdSocket.isEmpty {
            let socket = configuration.passwdSocket
            if let problem = creatable(FileChecks.directoryName(of: socket), identity: identity, access: access) {
                problems.append(
                    "passwd_socket \(socket): \(problem); create it or set passwd_socket = (empty) to turn the "
                        + "local socket off"
                )
            }
        }
        switch configuration.sink {
        case .maildir(let directory):
            if FileChecks.exists(directory) {
                if let problem = access.problem(directory, need: .writeDirectory, what: "the maildir spool") {
                    problems.append(problem + ": chown \(access.userName) \(directory)")
                }
            } else if let problem = creatable(directory, identity: identity, access: access) {
                problems.append("sink \(configuration.sink): \(problem)")
            }
        case .sendmail(let path):
            if let problem = access.problem(path, need: .execute, what: "sink sendmail") { problems.append(problem) }
        case .smtp, .lmtp:
            break
        }
        return problems
    }

    /// Why the daemon could not create `directory` at start-up (as root for a daemon that switches user, as
    /// itself otherwise), `nil` when it exists or can be made: its parent must exist, and be writable by a daemon
    /// that does not start as root.
    private static func creatable(_ directory: String, identity: RunIdentity?, access: AccessCheck) -> String? {
        if FileChecks.exists(directory) { return nil }
        let parent = FileChecks.directoryName(of: directory)
        guard FileChecks.exists(parent) else {
            return
                "neither the directory \(directory) nor its parent \(parent) exists (the daemon creates only the last one)"
        }
        if identity != nil { return nil }
        return access.problem(
            parent,
            need: .writeDirectory,
            what: "the directory \(directory) is missing and its parent"
        )
    }

    /// What keeps the daemon's user from reading the database file at `database`, or from reaching its directory.
    private static func databaseProblems(_ database: String, access: AccessCheck) -> [String] {
        if FileChecks.exists(database) {
            guard let problem = access.problem(database, need: .read, what: "sasldb_path") else { return [] }
            return [
                problem + ", so every AUTH would fail: on Debian keep it root:sasl 0640 or 0660 and "
                    + "adduser \(access.userName) sasl"
            ]
        }
        let directory = access.problem(
            FileChecks.directoryName(of: database),
            need: .search,
            what: "the directory of sasldb_path"
        )
        return directory.map { [$0] } ?? []
    }
}
