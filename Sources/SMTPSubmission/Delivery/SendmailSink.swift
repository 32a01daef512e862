import ServerKit

/// Hands each message to the local MTA's `sendmail` command: `sendmail -i -f SENDER -- RECIPIENT...`, the message on
/// standard input.
///
/// The command is started with `posix_spawn`, never through a shell, with an environment of `PATH` alone. Every address
/// is checked against RFC 5321's syntax first, and any address that begins with `-` or holds a space or a control
/// character is refused (``MessageSinkError/permanent(reason:)``), so that no address can become an option such as
/// `-oQ/tmp` or `-X/tmp/log` (the sender is also passed as the separate argument of `-f`, the recipients after `--`).
/// The null reverse-path is passed as `-f <>`, which Postfix, Sendmail and Exim read as the empty sender.
/// `BODY=8BITMIME` adds `-B 8BITMIME`.
///
/// The message goes in with LF line endings, the form local submission expects (Postfix and Exim take CRLF too, but
/// Sendmail 8 would keep the CRs). Exit status 0 means the MTA queued it. Status 75 (`EX_TEMPFAIL`), a signal, a
/// command that cannot be started or that exits before reading the whole message, or one that outlives ``timeout``
/// (it is then killed with every process it started) is a temporary failure: the client is told to try again later.
/// Any other status is permanent.
public struct SendmailSink: MessageSink {
    /// The command, an absolute path.
    public let path: String
    /// How long one submission may take before the command is killed.
    public let timeout: Duration

    /// `EX_TEMPFAIL` of `sysexits.h`: the MTA asks to be tried again later.
    public static let temporaryFailureStatus: Int32 = 75

    /// Creates a sink running `path`.
    ///
    /// - Parameters:
    ///   - path: the `sendmail` command (Postfix, Sendmail, Exim and msmtp all install one at `/usr/sbin/sendmail`).
    ///   - timeout: how long one submission may take.
    public init(path: String = "/usr/sbin/sendmail", timeout: Duration = .seconds(120)) {
        self.path = path
        self.timeout = timeout
    }

    /// Runs the command for one message; returns once it exited with status 0.
    public func deliver(_ message: SubmittedMessage) async throws(MessageSinkError) {
        let arguments = try Self.arguments(for: message)
        let input = Self.unixLineEndings(message.data)
        let path = path
        let timeout = timeout
        try await BlockingWork.run { () throws(MessageSinkError) in
            let outcome: ChildProcess.Outcome
            do throws(ChildProcess.Failure) {
                outcome = try ChildProcess.run(
                    path: path,
                    arguments: arguments,
                    environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
                    input: input,
                    timeout: timeout
                )
            } catch .timedOut(let output) {
                throw .temporary(reason: Self.timeoutReason(path: path, timeout: timeout, output: output))
            } catch {
                throw .temporary(reason: "\(path): \(error)")
            }
            try Self.judge(outcome, path: path)
        }
    }

    /// The arguments after `argv[0]`, or a permanent failure for an address that must not reach a command line.
    static func arguments(for message: SubmittedMessage) throws(MessageSinkError) -> [String] {
        try EnvelopeAddress.validate(sender: message.sender, recipients: message.recipients)
        var arguments = ["-i", "-f", message.sender.isEmpty ? "<>" : message.sender]
        if message.parameters["BODY"]?.uppercased() == "8BITMIME" {
            arguments += ["-B", "8BITMIME"]
        }
        return arguments + ["--"] + message.recipients
    }

    /// Maps how the command ended to success or a failure.
    static func judge(_ outcome: ChildProcess.Outcome, path: String) throws(MessageSinkError) {
        let said = summary(of: outcome.output)
        switch outcome.termination {
        case .exited(0) where outcome.consumedInput:
            return
        case .exited(0):
            throw .temporary(reason: "\(path) exited before reading the whole message")
        case .exited(Self.temporaryFailureStatus):
            throw .temporary(reason: "\(path) exited with status 75 (EX_TEMPFAIL)\(said)")
        case .exited(let status):
            throw .permanent(reason: "\(path) exited with status \(status)\(said)")
        case .signaled(let signal):
            throw .temporary(reason: "\(path) was killed by signal \(signal)\(said)")
        }
    }

    /// Why the command was killed, and the fix when its output shows Postfix's `postdrop` failing to write the
    /// maildrop queue: it retries for ever instead of failing, which is how a daemon's user outside group `postdrop`
    /// (or a unit with `NoNewPrivileges=yes`, which ignores postdrop's setgid bit) shows.
    static func timeoutReason(path: String, timeout: Duration, output: [UInt8]) -> String {
        let said = summary(of: output)
        let killed = "\(path) timed out after \(timeout); killed with its process group\(said)"
        guard said.contains("postdrop") || said.contains("maildrop") else { return killed }
        // The fix first: a log line keeps only the start of a long reason.
        return "Postfix's postdrop cannot write its maildrop queue: add the daemon's user to group postdrop "
            + "(adduser USER postdrop, restart); " + killed
    }

    /// `": first line of output"`, printable, at most 200 characters; empty when the command said nothing.
    static func summary(of output: [UInt8]) -> String {
        let line = output.split(whereSeparator: { $0 == 10 || $0 == 13 }).first ?? []
        let text = String(decoding: line.prefix(200), as: UTF8.self)
        let printable = String(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) })
        return printable.isEmpty ? "" : ": " + printable
    }

    /// `data` with each CRLF turned into LF (a lone CR or LF is left as it is).
    static func unixLineEndings(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(data.count)
        var index = data.startIndex
        while index < data.endIndex {
            let byte = data[index]
            if byte == 13 && index + 1 < data.endIndex && data[index + 1] == 10 {
                out.append(10)
                index += 2
            } else {
                out.append(byte)
                index += 1
            }
        }
        return out
    }
}
