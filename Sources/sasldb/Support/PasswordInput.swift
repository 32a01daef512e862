#if canImport(Glibc)
import Glibc
#endif

/// Reads passwords from a terminal without echo, or from standard input.
enum PasswordInput {
    /// Whether standard input is a terminal.
    static var isTerminal: Bool { isatty(0) == 1 }

    /// Prompts on `promptFD` and reads one answer from the terminal with echo off (newline echo kept, as Cyrus).
    ///
    /// Reads with a single `read(2)` of at most `limit` bytes and removes one trailing newline.
    static func readHidden(prompt: String, promptFD: Int32, limit: Int) -> [UInt8]? {
        Output.writeAll(promptFD, Array(prompt.utf8))
        var saved = termios()
        let haveTerminal = tcgetattr(0, &saved) == 0
        if haveTerminal {
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            quiet.c_lflag |= tcflag_t(ECHONL)
            TerminalRestore.save(saved)
            tcsetattr(0, TCSAFLUSH, &quiet)
        }
        var answer = readOnce(limit: limit)
        if haveTerminal {
            tcsetattr(0, TCSAFLUSH, &saved)
            TerminalRestore.clear()
        }
        if let read = answer, read.last != UInt8(ascii: "\n") {
            Output.writeAll(promptFD, [UInt8(ascii: "\n")])
        }
        if answer?.last == UInt8(ascii: "\n") { answer?.removeLast() }
        return answer
    }

    /// One `read(2)` of at most `limit` bytes: what Cyrus's saslpasswd2 does in both modes.
    static func readOnce(limit: Int) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: limit)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return nil
            }
            let result = Array(buffer[..<count])
            buffer.withUnsafeMutableBytes { raw in
                if let base = raw.baseAddress { memset(base, 0, raw.count) }
            }
            return result
        }
    }

    /// Reads one line of standard input (up to `limit` bytes plus its end), without the `\n` ending (nor a `\r` before
    /// it, unless `keepCarriageReturn`, as Cyrus keeps it).
    ///
    /// - Returns: `.end` at end of input before any byte; `.tooLong` when the line exceeds the limit.
    static func readLine(limit: Int, keepCarriageReturn: Bool = false) -> LineResult {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let count = read(0, &byte, 1)
            if count < 0 {
                if errno == EINTR { continue }
                return .end
            }
            if count == 0 { return line.isEmpty ? .end : .line(line) }
            if byte == UInt8(ascii: "\n") { break }
            line.append(byte)
            if line.count > limit + 1 { return .tooLong }
        }
        if !keepCarriageReturn, line.last == UInt8(ascii: "\r") { line.removeLast() }
        return line.count > limit ? .tooLong : .line(line)
    }

    /// The outcome of ``readLine(limit:)``.
    enum LineResult {
        case line([UInt8])
        case end
        case tooLong
    }
}

/// Puts the terminal back when the user interrupts a hidden prompt, so the shell does not stay without echo.
enum TerminalRestore {
    nonisolated(unsafe) private static var saved = termios()
    nonisolated(unsafe) private static var active = false

    static func save(_ settings: termios) {
        saved = settings
        active = true
        signal(SIGINT, TerminalRestore.handler)
        signal(SIGTERM, TerminalRestore.handler)
    }

    static func clear() {
        active = false
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }

    private static let handler: @convention(c) (Int32) -> Void = { signal in
        if TerminalRestore.active { tcsetattr(0, TCSANOW, &TerminalRestore.saved) }
        Glibc.signal(signal, SIG_DFL)
        raise(signal)
    }
}
