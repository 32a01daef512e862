import AuthService
// The Dovecot authentication protocol's server state machine (`DovecotAuthConnection`), driven the way its handler
// drives it.
//
// The input is cut at LF into lines (a line over 16 KiB goes to `lineRefused`, as the line decoder refuses it); each
// goes to `receive`. `runStep` is run at once against the fixture's store (FuzzSupport's `Fixture`: alice@example.org
// / `pw`, ...), except that a step is held back (as if still running on the thread pool) when the line's first byte
// is 0x02, and released at the next line whose first byte is 0x03; a line that is exactly 0x04 advances the clock by
// an hour and expires orphaned requests.
//
// Invariants beyond "no crash":
// - every line sent is one line: it ends with LF and holds no other LF, CR or NUL;
// - an `OK` names a genuine user of the fixture, in `user=` without TAB, CR, LF, NUL or \001;
// - `OK`, `CONT` and `FAIL` name a request id the client used (by number: `007` is 7);
// - after a `close` action nothing more is sent, for any later event.
import FuzzSupport
import NIOCore
import SASLDB
import SASLMechanisms

private let configuration = DovecotAuthConnection.Configuration(
    context: Fixture.context,
    mechanisms: DovecotMechanismPolicy(
        standard: MechanismPolicy(enabled: MechanismPolicy.all, allowedWithoutTLS: ["CRAM-MD5"]),
        services: ["imap": MechanismPolicy(enabled: ["PLAIN", "SCRAM-SHA-1"])]
    ),
    scramIterations: Fixture.scramIterations,
    digestHosts: .any,
    requestTimeout: .seconds(60),
    maximumRequests: 8
)

private struct Harness {
    var connection = DovecotAuthConnection(
        configuration: configuration,
        serverProcessID: 1,
        connectionID: 1,
        cookie: Array(repeating: 7, count: 16)
    )
    var now = NIODeadline.uptimeNanoseconds(1_000_000_000)
    var closed = false
    var held: [DovecotStepRequest] = []
    var usedIDs: Set<UInt32> = []

    mutating func process(_ actions: [DovecotAuthAction]) {
        for action in actions {
            require(!closed, "an action after close: \(action)")
            switch action {
            case .send(let line): check(line)
            case .fail(let failure): check(failure.line)
            case .runStep(let request): held.append(request)
            case .close: closed = true
            case .log: break
            }
        }
    }

    mutating func check(_ line: [UInt8]) {
        require(line.last == 10, "a line without LF")
        require(!line.dropLast().contains { $0 == 10 || $0 == 13 || $0 == 0 }, "a broken line: \(line)")
        let fields = line.dropLast().split(separator: 9, omittingEmptySubsequences: false).map {
            String(decoding: $0, as: UTF8.self)
        }
        guard ["OK", "CONT", "FAIL"].contains(fields[0]) else { return }
        require(
            fields.count >= 2 && UInt32(fields[1]).map(usedIDs.contains) == true,
            "an answer to an id never used: \(fields)"
        )
        if fields[0] == "OK" {
            let user = fields.first { $0.hasPrefix("user=") }.map { String($0.dropFirst(5)) }
            require(user != nil, "OK without user=")
            let genuine = Fixture.genuine.map(\.description)
            require(genuine.contains(user ?? "") || user == Fixture.proxy, "OK for \(user ?? "")")
            require(!(user ?? "").utf8.contains(1), "user= with \\001")
        }
    }

    mutating func runHeld() {
        let steps = held
        held = []
        for request in steps {
            var mechanism = request.mechanism
            let step = mechanism.step(request.response)
            process(connection.stepCompleted(id: request.id, mechanism: mechanism, step: step, now: now))
        }
    }

    mutating func run(_ input: [UInt8]) {
        var holding = false
        for line in input.split(separator: 10, omittingEmptySubsequences: false).map(Array.init) {
            if line == [4] {
                now = now + .hours(1)
                process(connection.expireRequests(now: now))
                continue
            }
            if line.first == 2 { holding = true }
            if line.first == 3 { holding = false }
            // Ids the client named (AUTH and CONT put them second), as numbers: `007` is request 7.
            let fields = line.split(separator: 9, omittingEmptySubsequences: false)
            if fields.count > 1, let id = UInt32(String(decoding: fields[1], as: UTF8.self)) { usedIDs.insert(id) }
            if line.count > DovecotAuthConnection.maximumLineLength {
                process(connection.lineRefused("a line longer than 16 KiB"))
            } else {
                process(connection.receive(line, now: now))
            }
            if !holding { runHeld() }
        }
        runHeld()
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    var harness = Harness()
    _ = harness.connection.start()
    harness.run(inputBytes(data, size))
    if harness.closed {
        harness.process(harness.connection.receive(Array("AUTH\t1\tPLAIN\tservice=smtp".utf8), now: harness.now))
        harness.process(harness.connection.lineRefused("after close"))
        harness.process(harness.connection.expireRequests(now: harness.now + .hours(2)))
    }
    return 0
}

@_cdecl("FuzzDovecotAuth_main")
public func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv) { data, size in
        guard let data else { return withUnsafePointer(to: UInt8(0)) { fuzz($0, 0) } }
        return fuzz(data, size)
    }
}
