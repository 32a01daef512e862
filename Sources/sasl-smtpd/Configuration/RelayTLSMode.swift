/// `relay_tls`: whether the relay sink (`sink = smtp:` or `lmtp:`) starts TLS before it sends anything.
enum RelayTLSMode: String, CaseIterable, Sendable {
    /// TLS to a next hop off the machine; plain to a loopback address, whose traffic never crosses a network.
    case auto
    /// TLS to every next hop, loopback included.
    case required
    /// Never TLS: allowed only for a loopback next hop.
    case none
}
