// The SMTP submission session state machine (`SMTPSession`), driven the way the NIO handler drives it.
//
// The input is cut at CRLF into lines. Each line goes to `SMTPCommandParser.parse` and, unless it is one of the
// control lines below, to `SMTPSession.receiveLine` (or `lineTooLong()` when it is longer than the session's
// `maximumLineLength`, as the driver does). While the session expects BDAT chunk octets (`chunkOctetsExpected`), the
// next that many input bytes go to `receiveChunkOctets` raw, CR and LF included, in pieces (the first half, then half
// of the rest, ...) as partial reads bring them; lines resume right after. `runSASLStep` is run at once against the
// fixture's store (FuzzSupport's `Fixture`: alice@example.org / `pw`, ...), `deliver` is answered with success, and
// `startTLS` makes the harness discard lines until the control line 0x03, as the driver discards input until the
// handshake ends.
//
// Control lines (a line of exactly one byte):
//   0x01  lineTooLong()         0x02  bareLineEnding()     0x03  tlsEstablished(channelBindings: []) (only after a
//   0x04  timedOut()            0x05  shuttingDown()             startTLS action; otherwise ignored)
//
// Invariants beyond "no crash":
// - no `deliver` unless the session is authenticated, as a genuine user (no open relay);
// - a delivered message has only CRLF line endings (no bare CR or LF, whether it came by DATA or BDAT), ends with
//   CRLF, and has no line over 1000 octets;
// - every reply code has three digits, 2xx-5xx; an enhanced code's class matches the reply's;
// - parse errors carry such reply codes too;
// - no log event's metadata contains the password `pw`. Since `pw` is short, the check is made only while nothing
//   the client sent that may rightly be logged contains it: the raw lines, and every SASL response except the
//   password itself (PLAIN's third field, LOGIN's answer to `Password:`), which the harness tracks;
// - after a `close` action the session issues nothing more (no action after `close` in the same batch, and every
//   later event returns no actions) and reports `isClosed`.
import FuzzSupport
import SASLDB
import SASLMechanisms
import SMTPSubmission

private enum Control {
    static let lineTooLong: UInt8 = 0x01
    static let bareLineEnding: UInt8 = 0x02
    static let tlsEstablished: UInt8 = 0x03
    static let timedOut: UInt8 = 0x04
    static let shuttingDown: UInt8 = 0x05
}

private let configuration = SMTPSessionConfiguration(
    hostName: Fixture.hostName,
    saslContext: Fixture.context,
    mechanisms: MechanismPolicy(),
    scramIterations: Fixture.scramIterations,
    requiresTLS: true,
    offersStartTLS: true,
    clock: { SMTPTimestamp(secondsSince1970: 1_022_255_082, utcOffsetSeconds: -4 * 3600) }
)

/// Where the line that starts at `start` ends: its CRLF, or the end of the input (the last piece is a line too).
private func lineEnd(_ input: [UInt8], from start: Int) -> Int {
    var index = start
    while index + 1 < input.count {
        if input[index] == 13, input[index + 1] == 10 { return index }
        index += 1
    }
    return input.count
}

/// Checks the framing of a message handed to the sink.
private func checkMessageData(_ data: [UInt8]) {
    require(data.isEmpty || data.suffix(2) == [13, 10], "delivered message does not end with CRLF")
    var lineLength = 0
    for (index, byte) in data.enumerated() {
        let previousIsCR = index > 0 && data[index - 1] == 13
        let nextIsLF = index + 1 < data.count && data[index + 1] == 10
        require(byte != 13 || nextIsLF, "bare CR in a delivered message at \(index)")
        require(byte != 10 || previousIsCR, "bare LF in a delivered message at \(index)")
        lineLength = byte == 10 ? 0 : lineLength + 1
        require(lineLength <= 999, "line over 1000 octets in a delivered message at \(index)")
    }
}

private func lowercased(_ bytes: [UInt8]) -> [UInt8] {
    bytes.map { (65...90).contains($0) ? $0 | 0x20 : $0 }
}

private func checkReply(_ reply: SMTPReply, _ context: String) {
    require((200...599).contains(reply.code), "\(context): reply code \(reply.code) outside 2xx-5xx: \(reply)")
    require(String(reply.code).utf8.count == 3, "\(context): reply code \(reply.code) not three digits")
    require(!reply.lines.isEmpty, "\(context): reply without lines")
    if let enhanced = reply.enhancedCode {
        let parts = enhanced.split(separator: ".", omittingEmptySubsequences: false)
        require(
            parts.count == 3 && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isASCII) && Int($0) != nil },
            "\(context): malformed enhanced code \(enhanced.debugDescription) in \(reply)"
        )
        let replyClass = reply.code / 100
        if replyClass != 3 {
            require(
                Int(parts[0]) == replyClass,
                "\(context): enhanced code \(enhanced) does not match reply code \(reply.code)"
            )
        }
    }
    for line in reply.lines {
        require(
            !line.utf8.contains(13) && !line.utf8.contains(10),
            "\(context): CR or LF inside a reply line: \(reply)"
        )
    }
}

private struct Harness {
    var session = SMTPSession(
        configuration: configuration,
        clientAddress: "192.0.2.7",
        sessionID: "FUZZSESSION0001",
        isTLS: false
    )
    /// Whether a `close` action was issued.
    var closed = false
    /// Whether a `startTLS` action awaits the 0x03 control line.
    var tlsPending = false
    /// Whether the password may appear in logs legitimately: something the client sent other than the password
    /// itself contains it (a line, a login name, an authzid, a DIGEST-MD5 or SCRAM message).
    var passwordEchoable: Bool
    /// The last challenge sent, while an exchange is running (to tell LOGIN's password from its user name).
    var lastChallenge: [UInt8]?
    var deliveries = 0

    init(input: [UInt8]) {
        passwordEchoable = contains(lowercased(input), Fixture.password)
    }

    /// Notes what of a SASL response may be logged.
    mutating func observe(response: [UInt8]?, mechanism: String) {
        guard let response else { return }
        var echoable: [[UInt8]]
        switch mechanism {
        case "PLAIN":
            let fields = response.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false).map(Array.init)
            echoable = fields.count == 3 ? Array(fields.prefix(2)) : [response]
        case "LOGIN":
            echoable = lastChallenge == Array("Password:".utf8) ? [] : [response]
        default:
            echoable = [response]
        }
        if echoable.contains(where: { contains(lowercased($0), Fixture.password) }) { passwordEchoable = true }
    }

    /// Performs what the driver does with the actions of one event, checking each.
    mutating func process(_ initial: [SMTPSessionAction], event: String) {
        if closed {
            require(initial.isEmpty, "\(event) after close returned actions: \(initial)")
            return
        }
        var queue = initial[...]
        while let action = queue.popFirst() {
            require(!closed, "action \(action) after close (event \(event))")
            if tracing { print("    \(action)") }
            switch action {
            case .send(let reply):
                checkReply(reply, event)
                if reply.code != 334 { lastChallenge = nil }
            case .startTLS:
                require(!session.isTLS, "startTLS on a TLS connection")
                tlsPending = true
            case .runSASLStep(let request):
                var mechanism = request.mechanism
                observe(response: request.response, mechanism: type(of: request.mechanism).name)
                let step = mechanism.step(request.response)
                if case .challenge(let challenge) = step { lastChallenge = challenge } else { lastChallenge = nil }
                if tracing { print("    step -> \(step)") }
                queue += session.saslStepCompleted(mechanism: mechanism, step: step)
                if let identity = session.authenticatedIdentity {
                    checkIdentity(identity, mechanism: "SMTP AUTH")
                }
            case .deliver(let message):
                guard let identity = session.authenticatedIdentity else {
                    require(
                        false,
                        "deliver without authentication (open relay): \(message.sender) -> \(message.recipients)"
                    )
                    return
                }
                checkIdentity(identity, mechanism: "SMTP AUTH before deliver")
                require(session.isTLS, "deliver on a connection without TLS although TLS is required")
                require(!message.recipients.isEmpty, "deliver without recipients")
                checkMessageData(message.data)
                deliveries += 1
                queue += session.deliveryCompleted(.success(()))
            case .log(let logEvent):
                if !passwordEchoable {
                    for (key, value) in logEvent.metadata {
                        require(
                            !contains(lowercased(Array(value.utf8)), Fixture.password)
                                && !contains(lowercased(Array(key.utf8)), Fixture.password),
                            "log event \(logEvent.message.debugDescription) leaks the password in \(key)=\(value)"
                        )
                    }
                }
            case .close:
                closed = true
                tlsPending = false  // the connection is gone: no handshake will complete
                require(session.isClosed, "close action but the session is not closed")
            case .pause, .recordAuthFailure:
                break
            }
        }
    }

    /// Feeds the whole input, as lines or, while the session expects them, raw chunk octets.
    mutating func run(_ input: [UInt8]) {
        var index = 0
        while index < input.count {
            let expected = closed || tlsPending ? 0 : session.chunkOctetsExpected
            if expected > 0 {
                let count = min(max(1, (expected + 1) / 2), input.count - index)
                feedOctets(Array(input[index..<(index + count)]))
                index += count
            } else {
                let end = lineEnd(input, from: index)
                feed(Array(input[index..<end]))
                index = end + 2
            }
        }
    }

    mutating func feedOctets(_ octets: [UInt8]) {
        if tracing { print("<<< \(octets.count) chunk octets") }
        let before = session.chunkOctetsExpected
        process(session.receiveChunkOctets(octets), event: "octets")
        require(
            session.isClosed || session.chunkOctetsExpected == before - octets.count,
            "chunk octets expected went from \(before) to \(session.chunkOctetsExpected) after \(octets.count)"
        )
    }

    mutating func feed(_ line: [UInt8]) {
        // The parser alone: any error's reply must be well formed too.
        do {
            _ = try SMTPCommandParser.parse(line)
        } catch {
            checkReply(error.reply, "SMTPCommandParser.parse")
        }

        if tracing { print("<<< \(String(decoding: line, as: UTF8.self).debugDescription)") }
        if line.count == 1, line[0] <= Control.shuttingDown, line[0] >= Control.lineTooLong {
            switch line[0] {
            case Control.lineTooLong:
                guard !tlsPending else { return }
                process(session.lineTooLong(), event: "lineTooLong")
            case Control.bareLineEnding:
                guard !tlsPending else { return }
                process(session.bareLineEnding(), event: "bareLineEnding")
            case Control.tlsEstablished:
                guard tlsPending else { return }
                tlsPending = false
                process(session.tlsEstablished(channelBindings: []), event: "tlsEstablished")
                require(session.isTLS, "no TLS after tlsEstablished")
                require(session.authenticatedIdentity == nil, "authentication kept across STARTTLS")
            case Control.timedOut:
                process(session.timedOut(), event: "timedOut")
                require(session.isClosed, "still open after timedOut")
            default:
                process(session.shuttingDown(), event: "shuttingDown")
                require(session.isClosed, "still open after shuttingDown")
            }
            return
        }
        // While TLS starts the driver throws input away (CVE-2011-0411).
        guard !tlsPending else { return }
        if line.count > session.maximumLineLength {
            process(session.lineTooLong(), event: "lineTooLong (driver)")
        } else {
            process(session.receiveLine(line), event: "line")
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = inputBytes(data, size)
    var harness = Harness(input: input)
    harness.process(harness.session.start(), event: "start")
    harness.run(input)
    if harness.closed {
        // Everything after close is silent.
        for line in [Array("QUIT".utf8), Array("EHLO x".utf8), []] {
            harness.process(harness.session.receiveLine(line), event: "line after close")
        }
        harness.process(harness.session.lineTooLong(), event: "lineTooLong after close")
        harness.process(harness.session.bareLineEnding(), event: "bareLineEnding after close")
        harness.process(harness.session.timedOut(), event: "timedOut after close")
        harness.process(harness.session.shuttingDown(), event: "shuttingDown after close")
    }
    if tracing { print("closed \(harness.closed), deliveries \(harness.deliveries)") }
    return 0
}

@_cdecl("FuzzSMTPSession_main")
public func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv) { data, size in
        guard let data else { return withUnsafePointer(to: UInt8(0)) { fuzz($0, 0) } }
        return fuzz(data, size)
    }
}
