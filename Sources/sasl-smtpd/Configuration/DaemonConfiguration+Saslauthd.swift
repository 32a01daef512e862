import AuthService
import NIOCore
import SASLDB
import SASLMechanisms
import ServerKit

extension DaemonConfiguration {
    /// Whether the saslauthd sockets are on (`saslauthd_socket`).
    var saslauthdEnabled: Bool { !saslauthdSocket.isEmpty }

    /// The saslauthd service's configuration.
    var saslauthdConfiguration: SaslauthdServerConfiguration {
        SaslauthdServerConfiguration(socketPaths: saslauthdSocket, drainTimeout: .seconds(Int64(drainTimeout)))
    }

    /// What the saslauthd sockets check passwords against: the store the SMTP server reads, from the one factory,
    /// and the realm a login without one maps to.
    var saslauthdContext: SASLServerContext {
        SASLServerContext(lookup: StoreFactory.makeStore(store), hostName: hostname, defaultRealm: effectiveRealm)
    }
}
