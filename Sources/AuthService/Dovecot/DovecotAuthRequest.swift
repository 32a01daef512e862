/// One `AUTH` line of a Dovecot authentication client, parsed:
/// `AUTH <id> <mechanism> [name[=value] ...] [resp=<base64>]`.
struct DovecotAuthRequest: Sendable, Equatable {
    /// The client's number for the request, unique among its requests in progress (never 0).
    var id: UInt32
    /// The mechanism name as sent.
    var mechanism: String
    /// `service=`: the protocol the client serves (`smtp`, `imap`), which chooses the mechanism list; `nil` when
    /// missing.
    var service: String?
    /// `secured`: the client's own connection is protected (TLS, or a local one), so plaintext mechanisms may run.
    var secured: Bool
    /// `rip=`: the address of the client's client, whose failures are counted.
    var remoteAddress: String?
    /// `resp=`: the initial response as sent (base64 text, possibly empty), `nil` when absent.
    var initialResponse: [UInt8]?
}
