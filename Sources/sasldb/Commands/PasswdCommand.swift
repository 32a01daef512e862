import ArgumentParser
import PasswordChange
import SASLDB

#if canImport(Glibc)
import Glibc
#endif

/// `sasldb passwd`: a user changes their own password, knowing the current one.
struct PasswdCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "passwd",
        abstract: "Change your own password; the current one is asked first.",
        discussion: """
            On a terminal the current password is asked, then the new one twice, without echo. Otherwise (or with \
            --stdin) three lines are read from standard input: the current password, the new one, the new one \
            again. When you can write the database, it is changed directly under the site's password policy; \
            otherwise the request goes to sasl-smtpd's password service on its local socket, which lets you change \
            your own account only. Exit status: 0 changed; 1 refused (the current password, the two new ones \
            differ, the policy); 69 neither the database nor the service can be used; 75 try again later. See \
            sasldb(8), SUBCOMMANDS.
            """
    )

    /// Where sasl-smtpd's password service listens unless the site configuration says otherwise.
    static let defaultSocket = "/run/sasl-smtpd/passwd.sock"

    @OptionGroup var store: StoreOptions
    @OptionGroup var realm: RealmOptions

    @Flag(help: "Read the three passwords as lines of standard input, even on a terminal.")
    var stdin = false

    @Option(
        help: ArgumentHelp(
            """
            Ask sasl-smtpd's password service at this socket, even when the database is writable. Without it the \
            service is asked only when the database is not writable for you, at passwd_socket of the site \
            configuration, else \(PasswdCommand.defaultSocket).
            """,
            valueName: "path"
        )
    )
    var socket: String?

    @Option(help: ArgumentHelp("How long to wait for each answer of the password service.", valueName: "seconds"))
    var timeout = 30

    @Argument(help: "The user, as user or user@realm (default: the name of your account, in the default realm).")
    var user: String?

    func validate() throws {
        if socket != nil && store.database != nil {
            throw ValidationError("give either --database (change the file) or --socket (ask the service), not both")
        }
        guard timeout > 0 else { throw ValidationError("--timeout must be at least 1 second") }
    }

    func run() throws {
        try reportingErrors {
            let login = try loginUser()
            // Chosen before a password is typed, so that a setup that cannot work says so first.
            let route = try route()
            var (current, new) = try readPasswords(for: login)
            defer {
                current.overwriteWithZeros()
                new.overwriteWithZeros()
            }
            let name = Array(login.description.utf8)
            switch route {
            case .database(let changer):
                do {
                    try changer.change(login: name, current: current, new: new, origin: "command uid=\(getuid())")
                } catch let error as PasswordChangeError {
                    throw PasswdFailure(error)
                }
            case .service(let client):
                try client.change(login: name, current: current, new: new)
            }
            Output.standard("password changed for \(login)\n")
        }
    }

    /// How the password gets changed.
    private enum Route {
        case database(PasswordChanger)
        case service(PoppassdClient)
    }

    private func route() throws -> Route {
        if let socket {
            let client = PoppassdClient(socket: socket, timeoutSeconds: timeout, databaseNotWritable: nil)
            try client.checkPresent()
            return .service(client)
        }
        let configuration = store.configuration
        // A PostgreSQL store is written with the role's rights, whoever runs the command.
        guard case .file(let path) = configuration.location, let reason = Self.notWritable(path) else {
            return .database(try PasswordChanger.site(configuration, defaultRealm: realm.defaultRealm))
        }
        let client = PoppassdClient(
            socket: SiteConfig.current.file[PasswordPolicy.SettingName.socket] ?? Self.defaultSocket,
            timeoutSeconds: timeout,
            databaseNotWritable: reason
        )
        try client.checkPresent()
        return .service(client)
    }

    private func loginUser() throws -> UserID {
        if let user { return try realm.user(user) }
        guard let account = Host.accountName else {
            throw SASLDBError.invalidName("user id \(getuid()) has no account name: name the user")
        }
        return try realm.user(account)
    }

    /// The current password and the new one, typed twice and compared.
    private func readPasswords(for login: UserID) throws -> (current: [UInt8], new: [UInt8]) {
        let current: [UInt8]
        let new: [UInt8]
        let again: [UInt8]
        if PasswordInput.isTerminal && !stdin {
            Output.error("Changing the password of \(login)\n")
            current = try PasswordPrompt.hidden("Current password: ")
            new = try PasswordPrompt.hidden("New password: ")
            again = try PasswordPrompt.hidden("New password again: ")
            try CredentialStore.validate(password: current)
        } else {
            current = try PasswordPrompt.line()
            new = try PasswordPrompt.line()
            again = try PasswordPrompt.line()
        }
        guard new == again else { throw PasswdFailure.mismatch }
        try CredentialStore.validate(password: new)
        return (current, new)
    }

    /// Why the caller cannot replace the database at `path` (a new file is renamed into its directory), or `nil`
    /// when they can. access(2) checks the real user and group ids, so a run with borrowed privileges would still
    /// be judged as its caller.
    private static func notWritable(_ path: String) -> String? {
        let directory: String
        if let slash = path.lastIndex(of: "/") {
            directory = slash == path.startIndex ? "/" : String(path[..<slash])
        } else {
            directory = "."
        }
        for (name, mode) in [(path, W_OK), (directory, W_OK | X_OK)] where access(name, mode) != 0 {
            return "\(name): \(String(cString: strerror(errno)))"
        }
        return nil
    }
}
