import Logging
import NIOCore
import SASLDB
import SASLMechanisms
import ServerKit

/// The server side of one connection of Dovecot's authentication protocol (version 1), as Postfix's
/// `smtpd_sasl_type = dovecot`, Exim's `dovecot` authenticator and `doveadm auth test` speak it: a pure state
/// machine, no I/O. Each event returns the ``DovecotAuthAction``s its driver performs in order.
///
/// - **Handshake** (``start()``): `VERSION`, one `MECH` line per mechanism with its flags, then `SPID`, `CUID`,
///   `COOKIE`, `DONE`, in that order: Postfix takes a `SPID` before any `MECH` for Dovecot's master socket and gives
///   up, and Exim reads up to `DONE` before it writes anything.
/// - **Requests**: many at once, by the client's id (Postfix keeps one connection per smtpd process for all its
///   sessions). A duplicate id, an id that is not a number, or parameters after `resp=` close the connection, as
///   Dovecot does; anything wrong within a request (an unknown mechanism, bad base64, a broken escape) fails that
///   request alone.
/// - **Answers**: `CONT` with the challenge, `OK` with `user=<canonical login>` (Postfix needs it: it feeds
///   `smtpd_sender_login_maps`), `FAIL` with a generic `reason=` (Postfix shows it in its 535).
/// - **Orphans**: Postfix never forwards a client's `*`, it forgets the request; a request that waits longer than
///   ``Configuration/requestTimeout`` for its next response is dropped (``expireRequests(now:)``).
public struct DovecotAuthConnection: Sendable {
    /// What every connection of one server shares.
    public struct Configuration: Sendable {
        /// The store, host name and realm of the mechanisms; `service` is replaced by each request's `service=`.
        public var context: SASLServerContext
        /// The mechanisms by service and the `secured` rule.
        public var mechanisms: DovecotMechanismPolicy
        /// The PBKDF2 count of SCRAM for users stored with a plaintext only.
        public var scramIterations: Int
        /// The host names DIGEST-MD5 accepts in `digest-uri`.
        public var digestHosts: DigestMD5Mechanism.AcceptedHosts
        /// How long a request may wait for the client's next response before it is forgotten.
        public var requestTimeout: TimeAmount
        /// The most requests in progress on one connection (a Postfix smtpd has one at a time; orphans add up).
        public var maximumRequests: Int

        /// Creates a configuration.
        ///
        /// - Parameters:
        ///   - context: the mechanisms' store, host name and realm.
        ///   - mechanisms: the mechanisms by service.
        ///   - scramIterations: the PBKDF2 count for plaintext-only users.
        ///   - digestHosts: DIGEST-MD5's accepted host names.
        ///   - requestTimeout: the wait allowed per response.
        ///   - maximumRequests: the bound on requests in progress per connection.
        public init(
            context: SASLServerContext,
            mechanisms: DovecotMechanismPolicy = DovecotMechanismPolicy(),
            scramIterations: Int = 4096,
            digestHosts: DigestMD5Mechanism.AcceptedHosts = .hostNameOnly,
            requestTimeout: TimeAmount = .seconds(300),
            maximumRequests: Int = 128
        ) {
            self.context = context
            self.mechanisms = mechanisms
            self.scramIterations = scramIterations
            self.digestHosts = digestHosts
            self.requestTimeout = requestTimeout
            self.maximumRequests = max(1, maximumRequests)
        }
    }

    /// One request in progress.
    private struct Request {
        /// The mechanism name, uppercased.
        var mechanismName: String
        var remoteAddress: String?
        /// The mechanism between steps; `nil` while the driver runs a step.
        var mechanism: (any SASLServerMechanism)?
        /// When the request must have received its next response.
        var deadline: NIODeadline
    }

    /// The protocol version this server speaks: 1.2, the version of Dovecot 2.3, which Postfix and Exim accept (they
    /// check the major version only).
    static let version = (major: 1, minor: 2)
    /// The longest line either side may send, LF excluded: Dovecot's `AUTH_CLIENT_MAX_LINE_LENGTH`.
    public static let maximumLineLength = 16 * 1024
    /// The `reason=` of every failed attempt: a client is never told whether the name or the password was wrong.
    static let failedReason = "Authentication failed"
    /// The `reason=` of a request that could not be decided (the store could not be read).
    static let temporaryReason = "Temporary authentication failure"

    private let configuration: Configuration
    private let handshake: [UInt8]
    private var requests: [UInt32: Request] = [:]
    /// The minor version the client announced; before its `VERSION` line, 0.
    private var clientMinorVersion: UInt32 = 0
    private var closed = false

    /// Creates the state of a new connection.
    ///
    /// - Parameters:
    ///   - configuration: the server's settings.
    ///   - serverProcessID: the `SPID` announced (the daemon's process id).
    ///   - connectionID: the `CUID` announced, unique among the server's connections.
    ///   - cookie: the `COOKIE` announced (16 random bytes; only Dovecot's master protocol uses it).
    public init(configuration: Configuration, serverProcessID: Int, connectionID: UInt32, cookie: [UInt8]) {
        self.configuration = configuration
        var lines = "VERSION\t\(Self.version.major)\t\(Self.version.minor)\n"
        for name in configuration.mechanisms.announced {
            lines += (["MECH", name] + DovecotMechanismPolicy.flags(of: name)).joined(separator: "\t") + "\n"
        }
        let cookieText = cookie.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        lines += "SPID\t\(serverProcessID)\nCUID\t\(connectionID)\nCOOKIE\t\(cookieText)\nDONE\n"
        handshake = Array(lines.utf8)
    }

    /// The number of requests in progress.
    public var requestCount: Int { requests.count }

    /// Whether a step of some request is running in the driver.
    public var stepsRunning: Bool { requests.values.contains { $0.mechanism == nil } }

    /// The connection is open: send the handshake, without waiting for the client's `VERSION` (Exim reads first).
    public func start() -> [UInt8] { handshake }

    /// A complete line from the client, LF and a CR before it removed.
    ///
    /// - Parameters:
    ///   - line: the line.
    ///   - now: the current time, for the request's deadline.
    public mutating func receive(_ line: [UInt8], now: NIODeadline) -> [DovecotAuthAction] {
        guard !closed else { return [] }
        let parsed: DovecotClientLine
        do throws(DovecotClientLine.Refusal) {
            parsed = try DovecotClientLine.parse(line)
        } catch {
            switch error {
            case .broken(let reason): return close(reason)
            case .request(let id, let reason):
                guard let request = requests.removeValue(forKey: id) else {
                    return failWithoutRequest(id: id, reason: reason)
                }
                return fail(id: id, request: request, reason: reason, counted: false)
            }
        }
        switch parsed {
        case .version(let major, let minor):
            guard major == Self.version.major else { return close("the client speaks protocol version \(major)") }
            clientMinorVersion = minor
            return []
        case .clientProcessID, .unknown:
            return []
        case .authenticate(let request):
            return authenticate(request, now: now)
        case .proceed(let id, let response):
            return proceed(id: id, response: response, now: now)
        }
    }

    /// The line was longer than ``maximumLineLength``, or could not be read.
    public mutating func lineRefused(_ reason: String) -> [DovecotAuthAction] {
        guard !closed else { return [] }
        return close(reason)
    }

    private mutating func authenticate(_ auth: DovecotAuthRequest, now: NIODeadline) -> [DovecotAuthAction] {
        guard requests[auth.id] == nil else { return close("duplicate request id \(auth.id)") }
        let name = auth.mechanism.uppercased()
        var request = Request(
            mechanismName: name,
            remoteAddress: auth.remoteAddress,
            mechanism: nil,
            deadline: now + configuration.requestTimeout
        )
        guard requests.count < configuration.maximumRequests else {
            return fail(id: auth.id, request: request, reason: "too many requests in progress", counted: false)
        }
        guard let service = auth.service, !service.isEmpty else {
            return fail(id: auth.id, request: request, reason: "no service= in the request", counted: false)
        }
        let policy = configuration.mechanisms.policy(for: service)
        var context = configuration.context
        context.service = service
        guard policy.enabled.contains(name),
            let mechanism = SASLMechanismFactory.make(
                name,
                context: context,
                scramIterations: configuration.scramIterations,
                digestHosts: configuration.digestHosts
            )
        else {
            return fail(
                id: auth.id,
                request: request,
                reason: "mechanism \(name) not enabled for \(service)",
                counted: false
            )
        }
        guard policy.permits(name, overTLS: auth.secured) else {
            return fail(
                id: auth.id,
                request: request,
                reason: "mechanism \(name) needs a secured connection",
                counted: false
            )
        }
        var response: [UInt8]?
        if let initial = auth.initialResponse {
            // An empty resp= from a client of protocol 1.0 or 1.1 (Exim) means no initial response, as in Dovecot;
            // from 1.2 on it is the empty response, and `=` is one too.
            if initial.isEmpty && clientMinorVersion < 2 {
                response = nil
            } else if initial.isEmpty || initial == [UInt8(ascii: "=")] {
                response = []
            } else {
                guard let decoded = Base64.decode(bytes: initial) else {
                    return fail(
                        id: auth.id,
                        request: request,
                        reason: "invalid base64 in the initial response",
                        counted: false
                    )
                }
                response = decoded
            }
        }
        request.mechanism = nil
        requests[auth.id] = request
        return [
            .runStep(
                DovecotStepRequest(
                    id: auth.id,
                    mechanism: mechanism,
                    response: response,
                    delayedAddress: auth.remoteAddress
                )
            )
        ]
    }

    private mutating func proceed(id: UInt32, response: [UInt8], now: NIODeadline) -> [DovecotAuthAction] {
        guard var request = requests[id] else {
            // Dovecot's answer: the request may have been forgotten by ``expireRequests(now:)``.
            return failWithoutRequest(id: id, reason: "a response to an unknown or expired request")
        }
        guard let mechanism = request.mechanism else {
            requests[id] = nil
            return fail(id: id, request: request, reason: "a response while a step was running", counted: false)
        }
        requests[id] = nil
        if response == [UInt8(ascii: "*")] {
            // A cancel after the secrets were read (SCRAM's first message) counts: it probed the name and cost a lookup.
            return fail(id: id, request: request, reason: "cancelled by the client", counted: mechanism.hasReadSecrets)
        }
        guard let decoded = Base64.decode(bytes: response) else {
            return fail(id: id, request: request, reason: "invalid base64 in a response", counted: false)
        }
        request.mechanism = nil
        request.deadline = now + configuration.requestTimeout
        requests[id] = request
        return [.runStep(DovecotStepRequest(id: id, mechanism: mechanism, response: decoded, delayedAddress: nil))]
    }

    /// The driver ran the step of request `id`.
    ///
    /// - Parameters:
    ///   - id: the request.
    ///   - mechanism: the mechanism after the step (it carries the exchange's state).
    ///   - step: what the step returned.
    ///   - now: the current time, for the deadline of the next response.
    public mutating func stepCompleted(
        id: UInt32,
        mechanism: any SASLServerMechanism,
        step: SASLStep,
        now: NIODeadline
    ) -> [DovecotAuthAction] {
        // A request forgotten meanwhile (a CONT that came while the step ran failed it) or a closed connection.
        guard !closed, var request = requests[id], request.mechanism == nil else {
            mechanism.eraseRetryMaterial()
            return []
        }
        switch step {
        case .challenge(let challenge):
            request.mechanism = mechanism
            request.deadline = now + configuration.requestTimeout
            requests[id] = request
            return [.send(Self.line(["CONT", String(id), Base64.encode(challenge)]))]
        case .success(let identity):
            requests[id] = nil
            mechanism.eraseRetryMaterial()
            let login = identity.authorizationID ?? identity.user.description
            var fields = metadata(request, mechanism: mechanism)
            fields["sasl.user"] = .string(LogText.clean(identity.user.description))
            guard !login.utf8.contains(where: DovecotTabEscape.needsEscape),
                !identity.user.description.utf8.contains(where: DovecotTabEscape.needsEscape)
            else {
                // Postfix and Exim take user= as it is, unescaped: such a login would reach them mangled.
                request.mechanism = mechanism
                return fail(id: id, request: request, reason: "the login holds a control character", counted: false)
            }
            if let authorizationID = identity.authorizationID {
                fields["sasl.authzid"] = .string(LogText.clean(authorizationID))
            }
            fields["auth.result"] = "success"
            return [
                .log(.info, "auth", fields),
                .send(Self.line(["OK", String(id), "user=" + login])),
            ]
        case .failure(let failure):
            requests[id] = nil
            request.mechanism = mechanism
            switch failure {
            case .temporary(let reason):
                var fields = metadata(request, mechanism: mechanism)
                fields["auth.result"] = "temporary-failure"
                fields["auth.reason"] = .string(LogText.clean(reason))
                mechanism.eraseRetryMaterial()
                let line = Self.line(["FAIL", String(id), "temp", "reason=" + Self.temporaryReason])
                return [.log(.warning, "auth", fields), .fail(DovecotFailure(line: line, counted: false))]
            case .cancelled:
                return fail(id: id, request: request, reason: "cancelled", counted: mechanism.hasReadSecrets)
            case .malformed(let reason), .authenticationFailed(let reason), .authorizationDenied(let reason):
                return fail(id: id, request: request, reason: reason, counted: true)
            case .tooLong(let limit):
                return fail(id: id, request: request, reason: "a message longer than \(limit) bytes", counted: true)
            }
        }
    }

    /// Forgets the requests whose client has not sent its next response in time (Postfix forgets a request its client
    /// cancelled, never telling us), answering each with `FAIL`, which Postfix ignores for an id it no longer waits for.
    public mutating func expireRequests(now: NIODeadline) -> [DovecotAuthAction] {
        let expired = requests.filter { $0.value.mechanism != nil && $0.value.deadline <= now }
        var actions: [DovecotAuthAction] = []
        for (id, request) in expired.sorted(by: { $0.key < $1.key }) {
            requests[id] = nil
            actions += fail(id: id, request: request, reason: "no response in time", counted: false)
        }
        return actions
    }

    /// The connection is closing: the mechanisms' password material is erased.
    public mutating func end() {
        closed = true
        for request in requests.values { request.mechanism?.eraseRetryMaterial() }
        requests = [:]
    }

    // MARK: - Failures

    private mutating func fail(
        id: UInt32,
        request: Request,
        reason: String,
        counted: Bool
    ) -> [DovecotAuthAction] {
        var fields = metadata(request, mechanism: request.mechanism)
        fields["auth.result"] = counted ? "failure" : "refused"
        fields["auth.reason"] = .string(LogText.clean(reason))
        let login = request.mechanism?.claimedLogin
        let failure = DovecotFailure(
            line: Self.line(["FAIL", String(id), "reason=" + Self.failedReason]),
            counted: counted,
            remoteAddress: request.remoteAddress,
            account: login.flatMap { try? configuration.context.user(forLogin: $0).description },
            fingerprint: request.mechanism?.withRetryMaterial { CredentialFingerprint.of($0) }
        )
        request.mechanism?.eraseRetryMaterial()
        return [.log(counted ? .notice : .info, "auth", fields), .fail(failure)]
    }

    private func failWithoutRequest(id: UInt32, reason: String) -> [DovecotAuthAction] {
        let fields: Logger.Metadata = [
            "auth.request": "\(id)", "auth.result": "refused", "auth.reason": .string(LogText.clean(reason)),
        ]
        let line = Self.line(["FAIL", String(id), "reason=" + Self.failedReason])
        return [.log(.info, "auth", fields), .fail(DovecotFailure(line: line, counted: false))]
    }

    private mutating func close(_ reason: String) -> [DovecotAuthAction] {
        end()
        return [
            .log(.notice, "auth client dropped", ["reason": .string(LogText.clean(reason))]), .close(reason: reason),
        ]
    }

    private func metadata(_ request: Request, mechanism: (any SASLServerMechanism)?) -> Logger.Metadata {
        var fields: Logger.Metadata = ["sasl.mechanism": .string(LogText.clean(request.mechanismName))]
        if let address = request.remoteAddress { fields["client.address"] = .string(LogText.clean(address)) }
        if let login = mechanism?.claimedLogin {
            fields["sasl.user"] = .string(LogText.clean(String(decoding: login, as: UTF8.self)))
        }
        return fields
    }

    /// A protocol line of `fields`, which hold nothing that needs escaping (numbers, base64, fixed words, a login
    /// checked above).
    private static func line(_ fields: [String]) -> [UInt8] {
        Array((fields.joined(separator: "\t") + "\n").utf8)
    }
}
