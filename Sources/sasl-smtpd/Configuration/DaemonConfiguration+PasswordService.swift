import Logging
import NIOCore
import PasswordChange
import PasswordService
import SASLDB
import SMTPSubmission
import ServerKit

extension DaemonConfiguration {
    /// Whether a password-change socket is configured (`poppassd_listen`, `poppassd_tls_listen`, `passwd_socket`).
    var passwordServiceEnabled: Bool {
        !poppassdListen.isEmpty || !poppassdTLSListen.isEmpty || !passwdSocket.isEmpty
    }

    /// The rules for new passwords, read through ``PasswordPolicy/init(setting:)`` so the keys mean what they mean
    /// in `sasldb.conf`.
    ///
    /// - Throws: ``ConfigurationError`` naming the setting at fault (or an unreadable `password_common_list`).
    func passwordPolicy() throws(ConfigurationError) -> PasswordPolicy {
        let settings = [
            PasswordPolicy.SettingName.minimumLength: String(passwordMinLength),
            PasswordPolicy.SettingName.maximumLength: String(passwordMaxLength),
            PasswordPolicy.SettingName.commonList: passwordCommonList,
        ]
        do throws(PasswordChangeError) {
            return try PasswordPolicy(setting: { settings[$0] })
        } catch {
            throw ConfigurationError("\(error)")
        }
    }

    /// The changer behind the password services: the store the SMTP server reads, with the site's secret policy, its
    /// realm mapping, the password policy; one audit line per attempt in the daemon's log.
    func passwordChanger(logger: Logger) throws(ConfigurationError) -> PasswordChanger {
        PasswordChanger(
            store: StoreFactory.makeStore(store),
            defaultRealm: effectiveRealm,
            policy: try passwordPolicy(),
            audit: { record in logger.notice("\(record)") }
        )
    }

    /// What the privileged password writer is started with, as `key=value` overrides for its command line: the
    /// whole effective store (so it writes the secrets the site asks for), the realm the daemon maps logins to, the
    /// password policy. Nothing secret (`ps` shows them).
    var passwordWriterSettings: [String] {
        [
            "sasldb_path=\(sasldbPath)", "database_format=\(store.newFileFormat.name)",
            "secrets=\(store.secretPolicy.description)", "scram_iterations=\(scramIterations)",
            "default_realm=\(effectiveRealm)",
            "\(PasswordPolicy.SettingName.minimumLength)=\(passwordMinLength)",
            "\(PasswordPolicy.SettingName.maximumLength)=\(passwordMaxLength)",
            "\(PasswordPolicy.SettingName.commonList)=\(passwordCommonList)",
        ]
    }

    /// The keys of ``passwordWriterSettings`` whose value differs from `running`'s, in their order: `default_realm`
    /// also when it is empty and the host name it derives from changed.
    func passwordWriterKeysChanged(from running: DaemonConfiguration) -> [String] {
        zip(passwordWriterSettings, running.passwordWriterSettings).compactMap { new, old in
            new == old ? nil : String(new.prefix { $0 != "=" })
        }
    }

    /// The password services' configuration, with TLS material already read.
    func poppassdConfiguration(tls: ServerTLSConfiguration?) -> PoppassdServerConfiguration {
        PoppassdServerConfiguration(
            listeners: poppassdListen.map { .init(host: $0.host, port: $0.port, implicitTLS: false) }
                + poppassdTLSListen.map { .init(host: $0.host, port: $0.port, implicitTLS: true) },
            localSocketPath: passwdSocket.isEmpty ? nil : passwdSocket,
            tls: poppassdTLSListen.isEmpty ? nil : tls,
            lineTimeout: .seconds(Int64(min(30, poppassdTimeout))),
            sessionTimeout: .seconds(Int64(poppassdTimeout)),
            failurePolicy: authFailurePolicy,
            drainTimeout: .seconds(Int64(drainTimeout))
        )
    }
}
