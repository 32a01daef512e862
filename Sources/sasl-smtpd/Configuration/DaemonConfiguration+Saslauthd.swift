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

    /// Checks the saslauthd sockets against the other socket of the daemon.
    ///
    /// - Throws: ``ConfigurationError`` when a saslauthd socket is also the password socket.
    func validateSaslauthd() throws(ConfigurationError) {
        if !passwdSocket.isEmpty, saslauthdSocket.contains(passwdSocket) {
            throw ConfigurationError("saslauthd_socket \(passwdSocket) is also passwd_socket: give each its own path")
        }
    }
}
