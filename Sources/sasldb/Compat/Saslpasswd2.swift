import SASLDB

#if canImport(Glibc)
import Glibc
#endif

/// The `saslpasswd2` personality: Cyrus 2.1.28's flags, prompts, messages and exit codes over our store.
///
/// Where Cyrus silently does the wrong thing we do the right thing (documented in saslpasswd2(8)): `-n` stores the
/// verifiers and removes the plaintext, the password is read up to its newline instead of one `read(2)`, a password
/// too long or holding NUL is refused instead of cut, and every secret of an old password is removed on a change.
struct Saslpasswd2 {
    let program: String
    let arguments: [String]

    /// Exit codes are libsasl2's error numbers negated, as Cyrus's tool returns them.
    private enum Code {
        static let generic: Int32 = 1
        static let noMechanism: Int32 = 4
        static let badParameter: Int32 = 7
        static let configuration: Int32 = 100
    }

    func run() -> Int32 {
        let parsed: GetOpt
        do {
            parsed = try GetOpt(arguments, spec: "vpcdnf:u:a:h?")
        } catch {
            Output.error("\(program): \(error.message)\n")
            return usage()
        }
        var pipeMode = false
        var create = false
        var disable = false
        var noPlaintext = false
        var databasePath: String?
        var realm: String?
        var appName = "saslpasswd"
        for option in parsed.options {
            switch option.letter {
            case "v":
                Output.error(CyrusBanner.attribution + CyrusBanner.versions)
                return 0
            case "p": pipeMode = true
            case "c": create = true
            case "d": disable = true
            case "n": noPlaintext = true
            case "f": databasePath = option.argument
            case "u": realm = option.argument
            case "a": appName = option.argument ?? appName
            default: return usage()
            }
        }
        guard parsed.operands.count == 1, !(create && disable) else { return usage() }
        guard !appName.contains("/") else {
            Output.error("appname must not contain /\n")
            return Code.generic
        }
        let config: CyrusConfig
        do {
            config = try CyrusConfig.load(appName: appName)
        } catch {
            return fail("error when parsing configuration file", code: Code.configuration)
        }
        if let plugin = config["auxprop_plugin"], plugin != "sasldb" {
            return fail("no mechanism available", code: Code.noMechanism)
        }
        let path = databasePath.flatMap { $0.isEmpty ? nil : $0 } ?? config["sasldb_path"] ?? "/etc/sasldb2"
        let defaultRealm = realm.flatMap { $0.isEmpty ? nil : $0 } ?? Host.defaultRealm
        guard let user = try? UserID(parsing: parsed.operands[0], defaultRealm: defaultRealm) else {
            return fail("invalid parameter supplied", code: Code.badParameter)
        }
        // Cyrus's sasldb_path and realm rules stand; the site decides the secrets and the format of a new file.
        var configuration = SiteConfig.current.store
        configuration.location = .file(path: path)
        configuration.secretPolicy = policy(config: config, noPlaintext: noPlaintext)
        let store = StoreFactory.makeStore(configuration)
        if disable {
            return perform { try store.removeSecrets(of: user) }
        }
        guard var password = readPassword(interactive: !pipeMode && PasswordInput.isTerminal) else {
            return Code.badParameter
        }
        defer { password.overwriteWithZeros() }
        return perform { try store.setPassword(password, for: user) }
    }

    /// Cyrus writes the plaintext unless `-n`, and a SCRAM verifier when `scram_secret_generate` is on; a site
    /// configuration of sasldb (sasldb(8), FILES) decides over both, so "no plaintext" holds for every tool.
    private func policy(config: CyrusConfig, noPlaintext: Bool) -> SecretPolicy {
        let site = SiteConfig.current.store
        if site.origins[.secrets] != nil || site.origins[.scramIterations] != nil {
            guard noPlaintext else { return site.secretPolicy }
            var verifiersOnly = site.secretPolicy
            verifiersOnly.plaintext = false
            return (try? verifiersOnly.validate()) == nil ? .noPlaintext : verifiersOnly
        }
        var policy = noPlaintext ? SecretPolicy.noPlaintext : SecretPolicy.cyrusDefault
        if config.isOn("scram_secret_generate") {
            let mechanisms = (config["mech_list"] ?? "").uppercased().split(separator: " ")
            let sha256Only = mechanisms.contains("SCRAM-SHA-256") && !mechanisms.contains("SCRAM-SHA-1")
            policy.scram = sha256Only ? .sha256 : (noPlaintext ? .sha256 : .sha1)
            if let count = config["scram_iteration_counter"].flatMap(Int.init),
                (1...SecretPolicy.maximumSCRAMIterations).contains(count)
            {
                policy.scramIterations = count
            }
        }
        return policy
    }

    /// Reads the password as Cyrus does (prompt twice without echo on a terminal, else standard input), printing
    /// Cyrus's messages; `nil` after a message.
    private func readPassword(interactive: Bool) -> [UInt8]? {
        let limit = CredentialStore.maximumPasswordLength
        var password: [UInt8]
        if interactive {
            guard let first = PasswordInput.readHidden(prompt: "Password: ", promptFD: 1, limit: limit + 1),
                let second = PasswordInput.readHidden(
                    prompt: "Again (for verification): ",
                    promptFD: 1,
                    limit: limit + 1
                )
            else {
                _ = fail("invalid parameter supplied", code: Code.badParameter)
                return nil
            }
            guard first == second else {
                _ = fail("passwords don't match; aborting", code: Code.badParameter)
                return nil
            }
            password = first
        } else {
            switch PasswordInput.readLine(limit: limit, keepCarriageReturn: true) {
            case .line(let line): password = line
            case .end: password = []
            case .tooLong:
                _ = fail("password longer than \(limit) bytes refused", code: Code.badParameter)
                return nil
            }
        }
        if password.contains(0) {
            _ = fail("password contains a NUL byte; refused", code: Code.badParameter)
            return nil
        }
        if password.isEmpty || password.count > limit {
            _ = fail(
                password.isEmpty ? "invalid parameter supplied" : "password longer than \(limit) bytes refused",
                code: Code.badParameter
            )
            return nil
        }
        return password
    }

    /// Runs a store operation, printing exactly what Cyrus prints for a failure (scripts match on it; `sasldb add`
    /// gives the detailed reason).
    private func perform(_ body: () throws -> Void) -> Int32 {
        do {
            try body()
            return 0
        } catch let error as SASLDBError {
            if case .invalidPassword = error { return fail("invalid parameter supplied", code: Code.badParameter) }
            CyrusBanner.printLibraryMessage(for: error)
            return fail("generic failure", code: Code.generic)
        } catch {
            return fail("generic failure", code: Code.generic)
        }
    }

    private func fail(_ message: String, code: Int32) -> Int32 {
        Output.error("\(program): \(message)\n")
        return code
    }

    private func usage() -> Int32 {
        Output.error(
            CyrusBanner.attribution + """
                \(program): usage: \(program) [-v] [-c [-p] [-n]] [-d] [-a appname] [-f sasldb] [-u DOM] userid
                \t-p\tpipe mode -- no prompt, password read on stdin
                \t-c\tcreate -- ask mechs to create the account
                \t-d\tdisable -- ask mechs to disable/delete the account
                \t-n\tno userPassword -- don't set plaintext userPassword property
                \t  \t                   (only set mechanism-specific secrets)
                \t-f sasldb\tuse given file as sasldb
                \t-a appname\tuse appname as application name
                \t-u DOM\tuse DOM for user domain
                \t-v\tprint version numbers and exit

                """
        )
        return Code.generic
    }
}
