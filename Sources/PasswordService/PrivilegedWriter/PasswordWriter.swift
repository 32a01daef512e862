import PasswordChange

#if canImport(Glibc)
import Glibc
#endif

/// The privileged half of the password service: the loop of the root child that ``PasswordWriterClient`` starts.
///
/// It does one thing: it reads a ``PasswordWriterRequest`` from the socket, runs ``PasswordChanger/change(login:current:new:origin:)``
/// (which checks the current password and audits the outcome), answers with a ``PasswordWriterReply`` carrying the
/// request's id, and overwrites the passwords; one request at a time. A change that outlasts the daemon's timeout is
/// still finished and answered: the daemon recognises the late answer by its id and discards it, and the loop goes on
/// with the next request, so a slow change never puts the writer out of use. Anything but a well-formed request ends it, as does the daemon closing its
/// end.
package enum PasswordWriter {
    /// Why the loop ended other than by the daemon closing its end.
    package struct Failure: Error, CustomStringConvertible {
        /// What went wrong, for the log.
        package var description: String
    }

    /// Whether `descriptor` is a `SOCK_SEQPACKET` socket, as the daemon hands the writer.
    package static func isPacketSocket(_ descriptor: Int32) -> Bool {
        var type: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(descriptor, SOL_SOCKET, SO_TYPE, &type, &length) == 0
            && type == Int32(SOCK_SEQPACKET.rawValue)
    }

    /// Serves requests on `socket` until the daemon closes its end.
    ///
    /// - Throws: ``Failure`` on a malformed request or a socket error: a daemon that sends one is not to be trusted
    ///   with another.
    package static func serve(socket: Int32, changer: PasswordChanger) throws(Failure) {
        // One byte more than the longest request, so a longer datagram shows as such rather than being cut to fit.
        var buffer = [UInt8](repeating: 0, count: PasswordWriterRequest.maximumFrameLength + 1)
        defer { buffer.overwriteWithZeros() }
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if count == 0 { return }
            if count < 0 {
                if errno == EINTR { continue }
                throw Failure(description: "recv: \(String(cString: strerror(errno)))")
            }
            let request =
                count <= PasswordWriterRequest.maximumFrameLength
                ? PasswordWriterRequest(frame: buffer[..<count]) : nil
            buffer.overwriteWithZeros()
            guard var request else { throw Failure(description: "malformed request of \(count) bytes") }
            let reply: PasswordWriterReply
            do throws(PasswordChangeError) {
                try changer.change(
                    login: request.login,
                    current: request.current,
                    new: request.new,
                    origin: request.origin
                )
                reply = .changed
            } catch {
                reply = .refused(error)
            }
            request.erase()
            let frame = reply.frame(id: request.id)
            let sent = frame.withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            // The daemon went away while the change ran: the next recv sees the end.
            if sent < 0 && errno != EPIPE && errno != ECONNRESET {
                throw Failure(description: "send: \(String(cString: strerror(errno)))")
            }
        }
    }
}
