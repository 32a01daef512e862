/// The `dovecot_auth_*` keys: the Dovecot authentication socket for Postfix (`smtpd_sasl_type = dovecot`) and Exim.
/// Off until `dovecot_auth_socket` or `dovecot_auth_listen` is set.
struct DovecotAuthSettings: Equatable, Sendable {
    /// The Unix-domain socket; empty for none. Postfix's default is `private/auth` in its queue directory.
    var socket = ""
    /// The socket's owner and group (names or numbers); empty keeps the daemon's (root's when it binds as root).
    var owner = ""
    var group = ""
    /// The socket's permission bits, in octal.
    var mode = "0660"
    /// Loopback TCP listeners.
    var listen: [ListenAddress] = []
    /// The mechanisms; empty for `mechanisms`.
    var mechanisms: [String] = []
    /// The mechanisms a request without `secured` may use; empty for `mechanisms_without_tls`.
    var mechanismsWithoutTLS: [String] = []
    /// Lists of their own for some services: `service: MECH MECH; service: MECH`.
    var serviceMechanisms: [String: [String]] = [:]
    /// Seconds a request may wait for the client's next response.
    var requestTimeout = 300
    /// Seconds before a counted failure is answered.
    var failureDelay = 1

    /// Whether the socket is configured.
    var enabled: Bool { !socket.isEmpty || !listen.isEmpty }
}
