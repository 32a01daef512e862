import SASLMechanisms
import ServerKit

extension ServerTLSMaterial {
    /// The channel bindings a connection with this material offers to SCRAM's `-PLUS` variants: `tls-server-end-point`
    /// when the certificate defines one, none otherwise.
    package var channelBindings: [SCRAMChannelBinding] {
        tlsServerEndPoint.map { [.tlsServerEndPoint($0)] } ?? []
    }
}
