import NIOCore
import SASLDB
import SASLMechanisms

@testable import AuthService

/// A ``DovecotAuthConnection`` over an in-memory store, driven without a channel: steps run inline, and what the
/// connection sends (`FAIL`s included, without their delay) is collected as text lines.
struct DovecotTestDriver {
    static let realm = "example.org"

    let backend = MemoryBackend()
    var connection: DovecotAuthConnection
    /// Every line sent, without its LF.
    var sent: [String] = []
    /// Every failure, in order.
    var failures: [DovecotFailure] = []
    var closed: String?
    /// When false, `runStep` actions are kept in ``heldSteps`` instead of run (a step "in flight").
    var runSteps = true
    var heldSteps: [DovecotStepRequest] = []
    var now = NIODeadline.uptimeNanoseconds(1_000_000_000)

    init(
        users: [(String, String)] = [("alice", "secret")],
        policy: DovecotMechanismPolicy = DovecotMechanismPolicy(
            standard: MechanismPolicy(enabled: MechanismPolicy.all, allowedWithoutTLS: [])
        ),
        requestTimeout: TimeAmount = .seconds(60),
        maximumRequests: Int = 128
    ) throws {
        let secretPolicy = SecretPolicy(
            plaintext: true,
            cramMD5: true,
            digestMD5: true,
            scram: .sha256,
            scramIterations: 64
        )
        let store = CredentialStore(backend: backend, policy: secretPolicy)
        for (login, password) in users {
            try store.setPassword(Array(password.utf8), for: UserID(parsing: login, defaultRealm: Self.realm))
        }
        let context = SASLServerContext(lookup: store, hostName: "mail.example.org", defaultRealm: Self.realm)
        connection = DovecotAuthConnection(
            configuration: .init(
                context: context,
                mechanisms: policy,
                scramIterations: 64,
                requestTimeout: requestTimeout,
                maximumRequests: maximumRequests
            ),
            serverProcessID: 4242,
            connectionID: 7,
            cookie: Array(repeating: 0xAB, count: 16)
        )
    }

    /// Sends `line` (without LF) and performs what follows.
    mutating func send(_ line: String) {
        perform(connection.receive(Array(line.utf8), now: now))
    }

    /// Sends raw bytes as one line.
    mutating func send(bytes: [UInt8]) {
        perform(connection.receive(bytes, now: now))
    }

    /// Runs the held steps.
    mutating func releaseSteps() {
        let steps = heldSteps
        heldSteps = []
        for request in steps { run(request) }
    }

    mutating func perform(_ actions: [DovecotAuthAction]) {
        for action in actions {
            switch action {
            case .send(let line): sent.append(Self.text(line))
            case .runStep(let request):
                if runSteps { run(request) } else { heldSteps.append(request) }
            case .fail(let failure):
                failures.append(failure)
                sent.append(Self.text(failure.line))
            case .close(let reason): closed = reason
            case .log: break
            }
        }
    }

    private mutating func run(_ request: DovecotStepRequest) {
        var mechanism = request.mechanism
        let step = mechanism.step(request.response)
        perform(connection.stepCompleted(id: request.id, mechanism: mechanism, step: step, now: now))
    }

    /// The last line sent.
    var last: String? { sent.last }

    static func text(_ line: [UInt8]) -> String {
        var text = String(decoding: line, as: UTF8.self)
        if text.hasSuffix("\n") { text.removeLast() }
        return text
    }

    static func base64(_ text: String) -> String { Base64.encode(Array(text.utf8)) }
}
