import Logging
import ServerKit

#if canImport(Glibc)
import Glibc
#endif

extension PasswordWriterClient {
    /// Connects to a password writer that a service manager starts for each connection: systemd's
    /// `sasl-smtpd-writer.socket` (`ListenSequentialPacket=`, `Accept=yes`) hands the accepted socket to a new
    /// `sasl-smtpd password-writer` as its descriptor 3, the same end a forked writer gets, so the protocol is the
    /// same. The writer then runs in a unit of its own, the only one allowed to replace the database, instead of
    /// as a root child inside the daemon's sandbox.
    ///
    /// - Parameters:
    ///   - path: the writer's `SOCK_SEQPACKET` socket.
    ///   - timeout: how long one change may take.
    ///   - logger: where a failing writer is reported.
    /// - Throws: ``PasswordServiceError/passwordWriter(_:)`` when the socket cannot be reached.
    package convenience init(
        connectingTo path: String,
        timeout: Duration = defaultTimeout,
        logger: Logger
    ) throws(PasswordServiceError) {
        let address: UnixSocketAddress
        do throws(LocalSocketError) {
            address = try UnixSocketAddress(path)
        } catch {
            throw .passwordWriter("\(error)")
        }
        let socket = Glibc.socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socket >= 0 else { throw .passwordWriter("socket: \(String(cString: strerror(errno)))") }
        let connected = address.withSocketAddress { connect(socket, $0, $1) }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            close(socket)
            throw .passwordWriter("connect \(path): \(reason)")
        }
        self.init(socket: socket, pid: nil, timeout: timeout, logger: logger)
    }
}
