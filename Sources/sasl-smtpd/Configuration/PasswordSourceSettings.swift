import PAMAuthentication
import SASLMechanisms
import SMTPSubmission

/// Where PLAIN and LOGIN passwords are checked, per kind of listener, and how PAM is run: the keys `password_source`,
/// `password_source_submission`, `password_source_smtps`, `password_source_plain`, `pam_service` and `pam_threads`.
struct PasswordSourceSettings: Equatable, Sendable {
    /// `password_source`: every listener's order, unless its own key says otherwise.
    var all = PasswordSourceOrder.store
    /// The orders of `password_source_submission`, `password_source_smtps` and `password_source_plain`, by key; a
    /// key left out (or empty) means ``all``.
    var overrides: [String: PasswordSourceOrder] = [:]
    /// `pam_service`: the file in `/etc/pam.d` whose stack checks the passwords.
    var pamService = PAMPasswordSource.defaultService
    /// `pam_threads`: the most PAM checks at once.
    var pamThreads = PAMPasswordSource.defaultThreads

    /// The keys of the kinds of listener, in the order of the listeners: submission, implicit TLS, plain.
    static let listenerKeys = [key(for: .submission), key(for: .implicitTLS), key(for: .plain)]

    /// The key of the listeners of `kind`.
    static func key(for kind: SMTPServerConfiguration.Listener.Kind) -> String {
        switch kind {
        case .submission: "password_source_submission"
        case .implicitTLS: "password_source_smtps"
        case .plain: "password_source_plain"
        }
    }

    /// The order of the listeners `key` names.
    func order(forKey key: String) -> PasswordSourceOrder { overrides[key] ?? all }

    /// The order as the configuration spells it: `sasldb`, `pam`, `sasldb,pam`.
    static func name(of order: PasswordSourceOrder) -> String {
        switch order {
        case .store: "sasldb"
        case .external: "pam"
        case .storeThenExternal: "sasldb,pam"
        }
    }

    /// The order `text` spells (`sasldb`, `pam`, or `sasldb` then `pam` separated by a comma or blanks).
    static func order(named text: String) -> PasswordSourceOrder? {
        switch DaemonConfiguration.words(text.lowercased()) {
        case ["sasldb"]: .store
        case ["pam"]: .external
        case ["sasldb", "pam"]: .storeThenExternal
        default: nil
        }
    }
}
