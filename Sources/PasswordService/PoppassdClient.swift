import ServerKit

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

    /// The key its connections are counted under: its address, or its uid (distinct from any address).
    var connectionKey: String {
        switch self {
        case .network(let address): address
        case .local(let uid): "uid=\(uid)"
        }
    }

    /// The key its failures are counted under: its network as `policy` groups addresses, or its uid.
    func failureKey(grouping policy: AuthFailurePolicy) -> String {
        guard case .network(let address) = self else { return connectionKey }
        return policy.clientKey(for: address)
    }
}
