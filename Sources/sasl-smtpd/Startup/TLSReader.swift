import Logging
import PasswordService
import ServerKit
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The daemon's end of the privileged TLS reader (``TLSReaderCommand``): a root child started before the privileges
/// are dropped, which reads the start-up certificate and key again on each SIGHUP. Without it, a renewal stored where
/// only root may look (certbot's `/etc/letsencrypt/live` and `archive` are 0700) could never be reloaded.
///
/// A reader that fails (exits, answers late or malformed) is put out of use; later reloads fail with a message that
/// asks for a restart. ``stop()`` closes the socket, which ends the reader, and reaps it.
final class TLSReader: Sendable {
    /// How long one read may take.
    static let timeout: Duration = .seconds(10)

    /// The certificate path it reads.
    let certificatePath: String
    /// The key path it reads.
    let keyPath: String
    /// The reader's process id.
    let pid: pid_t
    private let socket: Mutex<Int32?>
    private let logger: Logger

    /// Starts the reader (`/proc/self/exe tls-reader`) for the certificate and key of `configuration`; the key may
    /// belong to root or to `identity`.
    init(configuration: DaemonConfiguration, identity: RunIdentity, logger: Logger) throws(ConfigurationError) {
        certificatePath = configuration.tlsCertificate
        keyPath = configuration.tlsKey
        let arguments = [
            "sasl-smtpd", TLSReaderCommand.name, "--certificate", certificatePath, "--key", keyPath, "--key-owner",
            "\(identity.uid)",
        ]
        do throws(ChildProcess.Failure) {
            let (pid, socket) = try PrivilegedChild.start(executable: "/proc/self/exe", arguments: arguments)
            self.pid = pid
            self.socket = Mutex(socket)
        } catch {
            throw ConfigurationError("cannot start the TLS reader: \(error)")
        }
        self.logger = logger
        logger.info("tls reader started", metadata: ["pid": "\(pid)"])
    }

    /// Whether it reads the files `configuration` names (a reload that changed them needs a restart to read the new
    /// ones as root).
    func reads(_ configuration: DaemonConfiguration) -> Bool {
        configuration.tlsCertificate == certificatePath && configuration.tlsKey == keyPath
    }

    /// The certificate chain and the key, read by the root reader with the checks of start-up.
    ///
    /// - Throws: ``ConfigurationError`` naming the file that could not be read, or saying the reader has failed.
    func read() throws(ConfigurationError) -> (certificate: [UInt8], key: [UInt8]) {
        let result: Result<(certificate: [UInt8], key: [UInt8]), ConfigurationError> = socket.withLock { socket in
            guard let descriptor = socket else {
                return .failure(ConfigurationError("the TLS reader has stopped: restart sasl-smtpd"))
            }
            switch Self.exchange(on: descriptor) {
            case .success(let material):
                return .success(material)
            case .failure(let refusal as Refusal):
                return .failure(ConfigurationError(refusal.message))
            case .failure(let failure):
                close(descriptor)
                socket = nil
                logger.error(
                    "tls reader failed",
                    metadata: ["detail": .string("\(failure)"), "remedy": "certificate reloads fail until a restart"]
                )
                return .failure(ConfigurationError("the TLS reader failed (\(failure)): restart sasl-smtpd"))
            }
        }
        return try result.get()
    }

    /// Closes the socket, which ends the reader, and reaps it.
    func stop() {
        socket.withLock { socket in
            if let descriptor = socket { close(descriptor) }
            socket = nil
        }
        if !PrivilegedChild.reap(pid, within: .seconds(5)) {
            logger.warning("tls reader did not stop", metadata: ["pid": "\(pid)"])
        }
    }

    /// The reader's own answer that it could not read a file: the reader stays in use.
    private struct Refusal: Error {
        var message: String
    }

    /// A broken exchange: the reader is put out of use.
    private struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private static func exchange(on socket: Int32) -> Result<(certificate: [UInt8], key: [UInt8]), any Error> {
        let request = TLSReaderFrame.request
        let sent = request.withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == request.count else { return .failure(Failure(description: "send: \(describe(errno))")) }
        let deadline = ContinuousClock.now + timeout
        var certificate: [UInt8] = []
        var key: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: TLSReaderFrame.maximumPart + 2)
        defer { buffer.overwriteWithZeros() }
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return .failure(Failure(description: "no answer within \(timeout)")) }
            var polled = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            let ready = poll(&polled, 1, Int32(clamping: left.components.seconds * 1000 + 1))
            if ready < 0 && errno != EINTR { return .failure(Failure(description: "poll: \(describe(errno))")) }
            guard ready > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if count < 0 { return .failure(Failure(description: "recv: \(describe(errno))")) }
            guard count > 0 else { return .failure(Failure(description: "the reader exited")) }
            guard count <= TLSReaderFrame.maximumPart + 1 else {
                return .failure(Failure(description: "a frame too large"))
            }
            let body = buffer[1..<count]
            switch buffer[0] {
            case TLSReaderFrame.certificatePart where certificate.count + body.count <= FileChecks.maximumPEMSize:
                certificate += body
            case TLSReaderFrame.keyPart where key.count + body.count <= FileChecks.maximumPEMSize:
                key += body
            case TLSReaderFrame.end:
                return .success((certificate, key))
            case TLSReaderFrame.error:
                return .failure(Refusal(message: String(decoding: body, as: UTF8.self)))
            default:
                key.overwriteWithZeros()
                return .failure(Failure(description: "malformed answer"))
            }
        }
    }

    private static func describe(_ code: Int32) -> String { SystemInfo.describe(code) }
}
