/// Which sources check a password given to PLAIN or LOGIN: the credential store, the context's
/// ``PasswordSource``, or the store first.
public enum PasswordSourceOrder: String, Sendable, Equatable, CaseIterable {
    /// The credential store alone: every mechanism works.
    case store
    /// The ``SASLServerContext/passwordSource`` alone: only ``SASLMechanismFactory/passwordMechanisms`` work, since
    /// no stored secret exists for the others to use.
    case external
    /// The store for a user it holds (checked there only, never also by the other source), the
    /// ``SASLServerContext/passwordSource`` for everyone else: stored users keep every mechanism, the others can use
    /// PLAIN and LOGIN.
    case storeThenExternal
}
