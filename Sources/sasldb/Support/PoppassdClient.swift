import PasswordChange

#if canImport(Glibc)
import Glibc
#endif

/// The client side of the poppassd protocol, as sasl-smtpd's password service speaks it on its local socket.
///
/// The dialogue, one line each way, CRLF sent and CRLF or LF accepted: the service greets with `2xx`; `user <login>`
/// and `pass <current>` are answered `2xx` or `3xx`; `newpass <new>` is answered `2xx` when the password changed;
/// then `quit`. A `4xx` or `5xx` reply at any step is a refusal whose text is shown to the user as it is (the
/// service words it for them). The service decides from the socket's peer credentials whose password the caller
/// may change.
struct PoppassdClient {
    /// The socket's path.
    let socket: String
    /// How long each reply may take.
    let timeoutSeconds: Int
    /// Why the database itself was not used, for the message when the service is not running either; `nil` when
    /// the service was asked for directly.
    let databaseNotWritable: String?

    /// The longest reply line read: poppassd replies are one short sentence.
    static let maximumLineLength = 512

    /// Changes the password of `login` from `current` to `new`.
    ///
    /// - Throws: ``PasswdFailure``; when it throws ``PasswdFailure/refused(_:)``, the service changed nothing.
    func change(login: [UInt8], current: [UInt8], new: [UInt8]) throws(PasswdFailure) {
        var lines = [PoppassdCommand.user(login), .pass(current), .newpass(new)].compactMap(\.encoded)
        // The lines hold passwords: wiped once the dialogue is over, whatever happens.
        defer {
            for index in lines.indices { lines[index].overwriteWithZeros() }
        }
        // A line break inside a field would end the command early and start another one.
        guard lines.count == 3 else {
            throw .refused("a login name or password with a line break cannot be sent to the password service")
        }
        let connection: UnixSocketConnection
        do {
            connection = try UnixSocketConnection(path: socket, timeoutMilliseconds: timeoutSeconds * 1000)
        } catch {
            throw failure(error)
        }
        do {
            try step(connection, sending: nil, accepting: 2...2)
            try step(connection, sending: lines[0], accepting: 2...3)
            try step(connection, sending: lines[1], accepting: 2...3)
            try step(connection, sending: lines[2], accepting: 2...2)
        } catch {
            // After a refusal the dialogue is still in step; after any other failure it is not.
            if case .refused = error { quit(connection) }
            throw error
        }
        quit(connection)
    }

    /// Fails early, before a password is typed, when no socket is at the path (whether a service listens on it shows
    /// only when connecting).
    func checkPresent() throws(PasswdFailure) {
        var status = stat()
        guard stat(socket, &status) == 0 else { throw failure(.connect(errno: errno)) }
        guard status.st_mode & S_IFMT == S_IFSOCK else {
            throw .serviceNotRunning(socket: socket, detail: "not a socket", databaseNotWritable: databaseNotWritable)
        }
    }

    /// Sends `line` (when not `nil`) and reads the reply, whose code must be in the classes `accepting`.
    private func step(
        _ connection: UnixSocketConnection,
        sending line: [UInt8]?,
        accepting: ClosedRange<Int>
    ) throws(PasswdFailure) {
        if let line {
            do {
                try connection.send(line)
            } catch {
                throw failure(error)
            }
        }
        let received: [UInt8]
        do {
            received = try connection.readLine(limit: Self.maximumLineLength)
        } catch {
            throw failure(error)
        }
        guard let reply = PoppassdReply(line: received) else {
            throw .protocolViolation(socket: socket, detail: "a reply does not start with a three-digit code")
        }
        if accepting.contains(reply.codeClass) { return }
        guard reply.codeClass == 4 || reply.codeClass == 5 else {
            throw .protocolViolation(socket: socket, detail: "unexpected reply code \(reply.code)")
        }
        let text = Self.printable(reply.text)
        throw .refused(text.isEmpty ? "the password service refused the change (\(reply.code))" : text)
    }

    /// Ends the dialogue politely; its answer no longer matters.
    private func quit(_ connection: UnixSocketConnection) {
        if let line = PoppassdCommand.quit.encoded { try? connection.send(line) }
        _ = try? connection.readLine(limit: Self.maximumLineLength)
    }

    private func failure(_ error: UnixSocketConnection.Failure) -> PasswdFailure {
        switch error {
        case .connect(let code):
            return .serviceNotRunning(
                socket: socket,
                detail: String(cString: strerror(code)),
                databaseNotWritable: databaseNotWritable
            )
        case .timedOut:
            return .timedOut(socket: socket, seconds: timeoutSeconds)
        case .closed:
            return .protocolViolation(socket: socket, detail: "it closed the connection in the middle of the dialogue")
        case .lineTooLong:
            return .protocolViolation(socket: socket, detail: "a reply is longer than \(Self.maximumLineLength) bytes")
        case .io(let code):
            return .protocolViolation(socket: socket, detail: String(cString: strerror(code)))
        }
    }

    /// The reply text as sent, except that control characters, which could drive the user's terminal, become `?`.
    private static func printable(_ text: String) -> String {
        text.unicodeScalars.reduce(into: "") { text, scalar in
            text.unicodeScalars.append(scalar.properties.generalCategory == .control ? "?" : scalar)
        }
    }
}
