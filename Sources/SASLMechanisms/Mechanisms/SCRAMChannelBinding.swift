import SASLDB

/// A channel binding (RFC 5056) the TLS layer can offer to the `-PLUS` mechanisms.
public struct SCRAMChannelBinding: Sendable, Equatable {
    /// The type name the client names after `p=`, for example `tls-server-end-point`; compared exactly.
    public var type: String
    /// This connection's binding data, which the client must echo inside `c=`.
    public var data: [UInt8]

    /// Creates a binding.
    public init(type: String, data: [UInt8]) {
        self.type = type
        self.data = data
    }

    /// `tls-server-end-point` (RFC 5929 §4): `data` is the hash of the server certificate, computed with the
    /// certificate's signature hash (SHA-256 when that is MD5 or SHA-1).
    public static func tlsServerEndPoint(_ data: [UInt8]) -> SCRAMChannelBinding {
        SCRAMChannelBinding(type: "tls-server-end-point", data: data)
    }

    /// `tls-exporter` (RFC 9266): `data` is the 32-byte exporter value with label `EXPORTER-Channel-Binding`.
    public static func tlsExporter(_ data: [UInt8]) -> SCRAMChannelBinding {
        SCRAMChannelBinding(type: "tls-exporter", data: data)
    }
}

/// The gs2-cbind-flag of RFC 5802 §7.
enum SCRAMChannelBindingFlag: Equatable {
    /// `n`: the client does not support channel binding.
    case unsupported
    /// `y`: the client supports it but thinks the server does not.
    case supportedButNotOffered
    /// `p=<type>`: the client requires this binding type.
    case required(String)

    /// Applies RFC 5802 §6 to the flag the client sent.
    ///
    /// - Parameters:
    ///   - usesChannelBinding: whether the mechanism is a `-PLUS` variant.
    ///   - offered: the bindings the connection offers (empty when the server advertises no `-PLUS` variant).
    func check(usesChannelBinding: Bool, offered channelBindings: [SCRAMChannelBinding]) throws(SASLFailure) {
        switch (self, usesChannelBinding) {
        case (.unsupported, false):
            return
        case (.supportedButNotOffered, false):
            // "y": the client could bind but saw no -PLUS. If we did offer -PLUS, someone removed it on the way.
            guard channelBindings.isEmpty else {
                throw .malformed(
                    reason: "SCRAM: the client says the server cannot bind channels, but -PLUS is offered (downgrade?)"
                )
            }
        case (.required, false):
            throw .malformed(reason: "SCRAM: the client asks for channel binding (p=) with a mechanism without -PLUS")
        case (.unsupported, true), (.supportedButNotOffered, true):
            throw .malformed(reason: "SCRAM: a -PLUS mechanism requires the channel-binding flag p=")
        case (.required(let type), true):
            guard channelBindings.contains(where: { $0.type == type }) else {
                throw .malformed(reason: "SCRAM: the channel binding type the client asks for is not available")
            }
        }
    }
}
