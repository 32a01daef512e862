import ArgumentParser
import PasswordService

#if canImport(Glibc)
import Glibc
#endif

/// `sasl-smtpd tls-reader`: the privileged reader of the certificate and key, started by `serve` as root before it
/// drops its privileges, with its end of the socket pair as descriptor 3. Hidden: it is not run by hand.
///
/// It reads only the two paths it was started with, each time with the checks of start-up (a key only its owner
/// can read, owned by root or the daemon's user), so that a renewal stored where only root may look (certbot's
/// `/etc/letsencrypt/live`) reaches the daemon on SIGHUP, and a compromised daemon can make it read nothing else.
struct TLSReaderCommand: ParsableCommand {
    /// The subcommand's name, which `serve` starts it by.
    static let name = "tls-reader"

    static let configuration = CommandConfiguration(
        commandName: name,
        abstract: "The privileged certificate reader started by serve.",
        shouldDisplay: false
    )

    @Option(help: ArgumentHelp("The certificate chain.", valueName: "path"))
    var certificate: String

    @Option(help: ArgumentHelp("The private key.", valueName: "path"))
    var key: String

    @Option(help: ArgumentHelp("A uid the key may belong to besides root (repeatable).", valueName: "uid"))
    var keyOwner: [UInt32] = []

    func run() throws {
        let socket = try HelperSocket.take(for: Self.name)
        var request = [UInt8](repeating: 0, count: 16)
        while true {
            let count = request.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if count == 0 { return }
            if count < 0 && errno == EINTR { continue }
            guard count > 0, Array(request.prefix(count)) == TLSReaderFrame.request else {
                printError("tls-reader: malformed request; stopping")
                throw ExitCode.failure
            }
            guard answer(on: socket) else { return }
        }
    }

    /// Reads both files and sends them, or the reason they cannot be read; `false` when the daemon has gone.
    private func answer(on socket: Int32) -> Bool {
        var frames: [[UInt8]]
        do throws(ConfigurationError) {
            let chain = try FileChecks.readCertificate(certificate)
            var secret = try FileChecks.readPrivateKey(key, allowedOwners: Set([0] + keyOwner))
            frames = TLSReaderFrame.frames(certificate: chain, key: secret)
            secret.overwriteWithZeros()
        } catch {
            frames = [[TLSReaderFrame.error] + Array(error.message.utf8.prefix(TLSReaderFrame.maximumPart))]
        }
        defer {
            for index in frames.indices { frames[index].overwriteWithZeros() }
        }
        for frame in frames {
            let sent = frame.withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent != frame.count { return false }
        }
        return true
    }
}
