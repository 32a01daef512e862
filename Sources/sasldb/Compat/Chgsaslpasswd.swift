import PasswordChange
import SASLDB

#if canImport(Glibc)
import Glibc
#endif

/// The `chgsaslpasswd` personality: a hardened drop-in for the setuid helper of Roundcube's `sasl` password driver,
/// which runs `chgsaslpasswd -p <user>` and writes the new password and a newline to it.
///
/// It takes exactly `-p user` and nothing else: no other database, configuration, realm or secret choice, no
/// deleting or creating. Run setuid, it serves only the callers of the site's `chgsaslpasswd_allow`
/// (``ChgsaslpasswdCallers``). Whoever may run it can only set an existing user's password, under the site's password
/// policy, and every attempt is audited to syslog with the caller's real user id. Exit 0 when the password was set,
/// 1 otherwise (chgsaslpasswd(8)).
struct Chgsaslpasswd {
    let program: String
    let arguments: [String]

    /// What each refused Cyrus flag would have done, for the message.
    private static let refusedFlags: [String: String] = [
        "-d": "it would disable the account",
        "-c": "it would create an account",
        "-f": "the database is the site's",
        "-a": "the configuration is the site's",
        "-u": "give the realm as user@realm",
        "-n": "which secrets are stored is the site's choice",
    ]

    func run() -> Int32 {
        Self.openStandardDescriptors()
        guard let login = login() else { return 1 }
        if Host.isPrivileged {
            let site = SiteConfig.current.file
            guard ChgsaslpasswdCallers(site[ChgsaslpasswdCallers.settingName]).allowsCaller() else {
                let caller = ChgsaslpasswdCallers.callerDescription
                SystemLog.record(
                    PasswordChangeAudit(
                        user: login,
                        origin: "chgsaslpasswd uid=\(getuid())",
                        outcome: .refused(.notPermitted)
                    )
                )
                return fail(
                    "\(caller) may not set passwords: it is not in \(ChgsaslpasswdCallers.settingName) of "
                        + (site.source ?? SiteConfiguration.defaultPath)
                )
            }
        }
        var password: [UInt8]
        switch PasswordInput.readLine(limit: CredentialStore.maximumPasswordLength) {
        case .line(let line): password = line
        case .end: return fail("standard input ended before a password was read")
        case .tooLong: return fail("the password is longer than \(CredentialStore.maximumPasswordLength) bytes")
        }
        defer { password.overwriteWithZeros() }
        let changer: PasswordChanger
        do {
            changer = try PasswordChanger.site(
                SiteConfig.current.store,
                defaultRealm: RealmOptions.siteDefaultRealm
            )
        } catch {
            return fail(error.description)
        }
        do {
            try changer.reset(login: Array(login.utf8), new: password, origin: "chgsaslpasswd uid=\(getuid())")
            return 0
        } catch .authenticationFailed {
            // Without a current password to check, this refusal can only mean the user is not there.
            let user = (try? changer.user(forLogin: Array(login.utf8)))?.description ?? login
            return fail("there is no user \(user) in the database")
        } catch {
            return fail(error.description)
        }
    }

    /// The one user of `-p user`, or `nil` after saying what is refused.
    private func login() -> String? {
        let usage = "usage: \(program) -p user (the new password is one line of standard input)"
        guard !arguments.isEmpty else { return refuse(usage) }
        for (index, argument) in arguments.enumerated() where argument.hasPrefix("-") {
            if index == 0 && argument == "-p" { continue }
            let why = Self.refusedFlags[argument].map { " (\($0))" } ?? ""
            return refuse("\(program) only sets a password read from standard input: \(argument) is refused\(why)")
        }
        guard arguments[0] == "-p" else {
            return refuse("\(program) only sets a password read from standard input: -p is required; \(usage)")
        }
        guard arguments.count == 2 else {
            return refuse("\(program) sets the password of one user: give exactly one; \(usage)")
        }
        return arguments[1]
    }

    private func refuse(_ message: String) -> String? {
        Output.error("\(program): \(message)\n")
        return nil
    }

    private func fail(_ message: String) -> Int32 {
        Output.error("\(program): \(message)\n")
        return 1
    }

    /// A caller may start a setuid program with standard error closed: the database opened next would then get
    /// descriptor 2, and a message would be written into it. Each closed one is opened on /dev/null first.
    private static func openStandardDescriptors() {
        for descriptor: Int32 in 0...2 where fcntl(descriptor, F_GETFD) < 0 {
            guard open("/dev/null", O_RDWR) == descriptor else { exit(1) }
        }
    }
}
