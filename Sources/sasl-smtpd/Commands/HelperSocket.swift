import ArgumentParser
import PasswordService

#if canImport(Glibc)
import Glibc
#endif

/// The start every root helper of `serve` (`password-writer`, `tls-reader`) shares.
enum HelperSocket {
    /// Ignores the signals that are the daemon's, and returns the helper's end of its socket pair.
    ///
    /// The daemon manages its helpers: a SIGHUP reloads the daemon, a terminal's SIGINT stops the daemon, which then
    /// closes the socket; a daemon gone mid-reply must not kill a helper either.
    ///
    /// - Throws: ``ExitCode/failure`` when the helper was not started by `serve` (no socket on its descriptor).
    static func take(for name: String) throws -> Int32 {
        for ignored in [SIGHUP, SIGINT, SIGPIPE] { signal(ignored, SIG_IGN) }
        let socket = PrivilegedChild.descriptor
        guard PasswordWriter.isPacketSocket(socket) else {
            printError("\(name) is started by sasl-smtpd serve, with its socket as descriptor \(socket)")
            throw ExitCode.failure
        }
        return socket
    }
}
