/// Who is on the other end of a poppassd connection.
enum PoppassdClient: Sendable, Equatable {
    /// A TCP client, by IP address.
    case network(address: String)
    /// A process on this host, by the uid the kernel vouches for (`SO_PEERCRED`).
    case local(uid: UInt32)

    /// Where the request came from, for the audit record.
    var origin: String {
        switch self {
        case .network(let address): "poppassd client=\(address)"
        case .local(let uid): "socket uid=\(uid)"
        }
    }

    /// The key its failures are counted under; distinct from any IP address.
    var failureKey: String {
        switch self {
        case .network(let address): address
        case .local(let uid): "uid=\(uid)"
        }
    }
}
