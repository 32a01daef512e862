import SASLDB
import SASLMechanisms
import XCTest

@testable import SMTPSubmission

/// Users, a store and configurations for session tests.
enum SessionFixture {
    static let hostName = "mail.example.org"
    static let realm = "example.org"
    /// Alice's password: a value that appears nowhere else, so finding it in a log proves a leak.
    static let password = "Tr0ub4dor&3-horse"
    static let bobPassword = "bob-secret-9"
    /// 2002-05-24 15:44:42 UTC, shown in EDT as the seed's transcript does.
    static let timestamp = SMTPTimestamp(secondsSince1970: 1_022_255_082, utcOffsetSeconds: -4 * 3600)

    static func user(_ name: String) -> UserID {
        guard let user = try? UserID(parsing: name, defaultRealm: realm) else {
            preconditionFailure("bad test user \(name)")
        }
        return user
    }

    /// A context over an in-memory store holding alice and bob (plaintext, as Cyrus's saslpasswd2 writes).
    static func context() throws -> SASLServerContext {
        let store = CredentialStore(backend: MemoryBackend(), policy: SecretPolicy(plaintext: true))
        try store.setPassword(Array(password.utf8), for: user("alice@example.org"))
        try store.setPassword(Array(bobPassword.utf8), for: user("bob@example.org"))
        return SASLServerContext(lookup: store, hostName: hostName, defaultRealm: realm)
    }

    /// A submission configuration: STARTTLS offered and required before AUTH.
    static func configuration(
        requiresTLS: Bool = true,
        offersStartTLS: Bool = true,
        mechanisms: MechanismPolicy = MechanismPolicy(enabled: ["CRAM-MD5", "PLAIN", "LOGIN"]),
        limits: SMTPLimits = SMTPLimits(),
        senderPolicy: SenderPolicy = SenderPolicy(),
        context: SASLServerContext? = nil
    ) throws -> SMTPSessionConfiguration {
        SMTPSessionConfiguration(
            hostName: hostName,
            saslContext: try context ?? Self.context(),
            mechanisms: mechanisms,
            limits: limits,
            requiresTLS: requiresTLS,
            offersStartTLS: offersStartTLS,
            senderPolicy: senderPolicy,
            clock: { timestamp }
        )
    }

    /// `AUTH PLAIN` initial response for `login` and `password`.
    static func plain(_ login: String, _ password: String) -> String {
        Base64.encode(Array(("\u{0}" + login + "\u{0}" + password).utf8))
    }

    static func base64(_ text: String) -> String {
        Base64.encode(Array(text.utf8))
    }
}

/// Drives a session the way the NIO handler does, synchronously: SASL steps run at once, deliveries go to a list.
struct SessionDriver {
    var session: SMTPSession
    /// Every action the session returned, in order.
    var actions: [SMTPSessionAction] = []
    /// Messages handed to the sink.
    var deliveries: [SubmittedMessage] = []
    /// What the sink answers.
    var deliveryResult: Result<Void, MessageSinkError> = .success(())
    /// Whether `runSASLStep` is run at once (else the test completes it).
    var runsSASLSteps = true
    /// Whether `deliver` is answered at once (else the test completes it).
    var completesDeliveries = true

    init(_ configuration: SMTPSessionConfiguration, isTLS: Bool = false) {
        session = SMTPSession(
            configuration: configuration,
            clientAddress: "192.0.2.7",
            sessionID: "TESTSESSION",
            isTLS: isTLS
        )
    }

    init(requiresTLS: Bool = true, offersStartTLS: Bool = true) throws {
        self.init(try SessionFixture.configuration(requiresTLS: requiresTLS, offersStartTLS: offersStartTLS))
    }

    @discardableResult
    mutating func start() -> [SMTPSessionAction] {
        process(session.start())
    }

    @discardableResult
    mutating func send(_ line: String) -> [SMTPSessionAction] {
        feed(Array(line.utf8))
    }

    @discardableResult
    mutating func feed(_ line: [UInt8]) -> [SMTPSessionAction] {
        process(session.receiveLine(line))
    }

    /// Performs the synchronous part of what the driver does with `initial`, returning everything that happened.
    @discardableResult
    mutating func process(_ initial: [SMTPSessionAction]) -> [SMTPSessionAction] {
        var queue = initial
        var all: [SMTPSessionAction] = []
        while !queue.isEmpty {
            let action = queue.removeFirst()
            all.append(action)
            switch action {
            case .runSASLStep(let request) where runsSASLSteps:
                var mechanism = request.mechanism
                let step = mechanism.step(request.response)
                queue += session.saslStepCompleted(mechanism: mechanism, step: step)
            case .deliver(let message) where completesDeliveries:
                deliveries.append(message)
                queue += session.deliveryCompleted(deliveryResult)
            default:
                break
            }
        }
        actions += all
        return all
    }

    /// The last reply of `line`.
    mutating func reply(to line: String) -> SMTPReply? {
        send(line).replies.last
    }

    /// Greeting, EHLO, STARTTLS and the handshake, then EHLO again.
    mutating func establishTLS() {
        start()
        send("EHLO client.example")
        send("STARTTLS")
        process(session.tlsEstablished(channelBindings: []))
        send("EHLO client.example")
    }

    /// TLS, then AUTH PLAIN as `login`.
    mutating func logIn(_ login: String = "alice", password: String = SessionFixture.password) {
        establishTLS()
        send("AUTH PLAIN " + SessionFixture.plain(login, password))
    }

    /// A whole message from MAIL to the final dot.
    @discardableResult
    mutating func submit(
        from sender: String = "<alice@example.org>",
        to recipients: [String] = ["<bob@example.net>"],
        lines: [String] = ["Subject: hi", "", "Hello."]
    ) -> [SMTPSessionAction] {
        var all = send("MAIL FROM:" + sender)
        for recipient in recipients { all += send("RCPT TO:" + recipient) }
        all += send("DATA")
        for line in lines { all += send(line) }
        all += send(".")
        return all
    }

    /// Every log event so far.
    var logEvents: [SMTPLogEvent] { actions.logEvents }
}

extension Array where Element == SMTPSessionAction {
    /// The replies among the actions.
    var replies: [SMTPReply] {
        compactMap {
            if case .send(let reply) = $0 { return reply }
            return nil
        }
    }

    /// The reply codes among the actions.
    var codes: [Int] { replies.map(\.code) }

    /// The log events among the actions.
    var logEvents: [SMTPLogEvent] {
        compactMap {
            if case .log(let event) = $0 { return event }
            return nil
        }
    }

    /// The pauses asked for, in milliseconds.
    var pauses: [Int] {
        compactMap {
            if case .pause(let milliseconds) = $0 { return milliseconds }
            return nil
        }
    }

    /// The recorded AUTH failures.
    var authFailures: [(user: String?, credential: [UInt8]?)] {
        compactMap {
            if case .recordAuthFailure(let user, let credential) = $0 { return (user, credential) }
            return nil
        }
    }

    /// Whether the actions close the connection.
    var closes: Bool {
        contains {
            if case .close = $0 { return true }
            return false
        }
    }

    /// Whether the actions start TLS.
    var startsTLS: Bool {
        contains {
            if case .startTLS = $0 { return true }
            return false
        }
    }

    /// The SASL step requests among the actions.
    var saslRequests: [SASLStepRequest] {
        compactMap {
            if case .runSASLStep(let request) = $0 { return request }
            return nil
        }
    }

    /// The messages handed to the sink.
    var deliveries: [SubmittedMessage] {
        compactMap {
            if case .deliver(let message) = $0 { return message }
            return nil
        }
    }
}

/// Asserts a reply's code and enhanced code.
func XCTAssertReply(
    _ reply: SMTPReply?,
    _ code: Int,
    _ enhancedCode: String?,
    file: StaticString = #filePath,
    line: UInt = #line
) {
    guard let reply else {
        XCTFail("no reply, expected \(code) \(enhancedCode ?? "")", file: file, line: line)
        return
    }
    XCTAssertEqual(reply.code, code, "\(reply)", file: file, line: line)
    XCTAssertEqual(reply.enhancedCode, enhancedCode, "\(reply)", file: file, line: line)
}
