import SASLClient
import SASLDB
import SASLMechanisms

#if canImport(Glibc)
import Glibc
#endif

// Verifications per second on one core for each mechanism and kind of stored secret, timing only the server's
// `step` calls (thread CPU time), beside the bare hash work each verification must do.

func cpuNanoseconds() -> Int {
    var now = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
    return now.tv_sec * 1_000_000_000 + now.tv_nsec
}

/// Runs `body` `count` times and returns thread CPU nanoseconds per run.
func measure(_ count: Int, _ body: () -> Void) -> Double {
    let start = cpuNanoseconds()
    for _ in 0..<count { body() }
    return Double(cpuNanoseconds() - start) / Double(count)
}

let host = "bench.local"
let password = "bench-secret-1"
let arguments = CommandLine.arguments
let directory = arguments.count > 1 ? arguments[1] : "/tmp"
let scale = arguments.count > 2 ? Int(arguments[2]) ?? 1 : 1

struct Case {
    let mechanism: String
    let secret: String
    let policy: SecretPolicy
}

let cases: [Case] = [
    Case(mechanism: "PLAIN", secret: "plaintext", policy: .cyrusDefault),
    Case(
        mechanism: "PLAIN",
        secret: "SCRAM-SHA-256 authPassword",
        policy: SecretPolicy(plaintext: false, scram: .sha256)
    ),
    Case(mechanism: "LOGIN", secret: "plaintext", policy: .cyrusDefault),
    Case(mechanism: "CRAM-MD5", secret: "plaintext", policy: .cyrusDefault),
    Case(mechanism: "CRAM-MD5", secret: "CRAM-MD5 state", policy: SecretPolicy(plaintext: false, cramMD5: true)),
    Case(mechanism: "DIGEST-MD5", secret: "plaintext", policy: .cyrusDefault),
    Case(mechanism: "DIGEST-MD5", secret: "DIGEST-MD5 hash", policy: SecretPolicy(plaintext: false, digestMD5: true)),
    Case(mechanism: "SCRAM-SHA-1", secret: "plaintext", policy: .cyrusDefault),
    Case(
        mechanism: "SCRAM-SHA-1",
        secret: "SCRAM-SHA-1 authPassword",
        policy: SecretPolicy(plaintext: false, scram: .sha1)
    ),
    Case(mechanism: "SCRAM-SHA-256", secret: "plaintext", policy: .cyrusDefault),
    Case(
        mechanism: "SCRAM-SHA-256",
        secret: "SCRAM-SHA-256 authPassword",
        policy: SecretPolicy(plaintext: false, scram: .sha256)
    ),
]

/// One full exchange; returns server CPU nanoseconds spent in `step`, and whether it succeeded.
func exchange(_ mechanism: String, context: SASLServerContext, user: String) -> (Int, Bool) {
    guard var server = SASLMechanismFactory.make(mechanism, context: context),
        var client = try? SASLClientFactory.make(
            mechanism,
            credentials: SASLClientCredentials(user: user, password: password),
            options: SASLClientOptions(host: host)
        )
    else { return (0, false) }
    var response = try? client.initialResponse()
    var spent = 0
    for _ in 0..<4 {
        let start = cpuNanoseconds()
        let step = server.step(response)
        spent += cpuNanoseconds() - start
        switch step {
        case .challenge(let challenge):
            guard let next = try? client.respond(to: challenge) else { return (spent, false) }
            response = next
        case .success: return (spent, true)
        case .failure: return (spent, false)
        }
    }
    return (spent, false)
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}

func format(_ value: Double, _ decimals: Int = 1) -> String {
    var factor = 1.0
    for _ in 0..<decimals { factor *= 10 }
    let rounded = (value * factor).rounded() / factor
    return String(rounded)
}

// The bare computations each verification cannot avoid.
let key = Array(password.utf8)
let challenge = Array("<1234567890.1700000000@bench.local>".utf8)
let bareHMACMD5 = measure(20000 * scale) { _ = HashAlgorithm.md5.hmac(key: key, challenge) }
let bareDigest = measure(20000 * scale) {
    for _ in 0..<5 { _ = HashAlgorithm.md5.digest(challenge) }
}
let barePBKDF2SHA1 = measure(20 * scale) {
    _ = SCRAMHash.sha1.saltedPassword(password: key, salt: Array(repeating: 1, count: 16), iterations: 4096)
}
let barePBKDF2SHA256 = measure(20 * scale) {
    _ = SCRAMHash.sha256.saltedPassword(password: key, salt: Array(repeating: 1, count: 16), iterations: 4096)
}
func bare(for mechanism: String) -> Double {
    switch mechanism {
    case "CRAM-MD5": return bareHMACMD5
    case "DIGEST-MD5": return bareDigest
    case "SCRAM-SHA-1": return barePBKDF2SHA1
    case "SCRAM-SHA-256": return barePBKDF2SHA256
    default: return 0
    }
}

print("Server CPU per verification (one core), lookups from a Berkeley DB file of 1,000 users and from memory")
print(
    pad("mechanism", 15) + pad("stored secret", 28) + pad("file: us/op", 13) + pad("ops/s", 10)
        + pad("memory: us/op", 15) + pad("bare hash us", 14) + "ours minus bare (us)"
)
for item in cases {
    let path = "\(directory)/bench-\(item.mechanism)-\(item.policy.description).db"
    unlink(path)
    var configuration = StoreConfiguration.file(path)
    configuration.newFileFormat = .berkeleyDB
    configuration.secretPolicy = item.policy
    let fileStore = StoreFactory.makeStore(configuration)
    let memoryStore = CredentialStore(backend: MemoryBackend(), policy: item.policy)
    let users = (0..<1000).map {
        (user: UserID(authid: Array("user\($0)".utf8), realm: Array(host.utf8)), password: Array(password.utf8))
    }
    do {
        try fileStore.importPasswords(users)
        try memoryStore.importPasswords(users)
    } catch {
        print("cannot prepare \(path): \(error)")
        exit(1)
    }
    let slow = item.mechanism.hasPrefix("SCRAM") || item.policy.scram != nil
    let runs = (slow ? 40 : 4000) * scale
    var results: [Double] = []
    for store in [fileStore, memoryStore] {
        let context = SASLServerContext(lookup: store, hostName: host, defaultRealm: host)
        var total = 0
        var failures = 0
        for index in 0..<runs {
            let (spent, ok) = exchange(item.mechanism, context: context, user: "user\(index % 1000)")
            total += spent
            if !ok { failures += 1 }
        }
        if failures > 0 { print("  \(item.mechanism) with \(item.secret): \(failures) of \(runs) exchanges FAILED") }
        results.append(Double(total) / Double(runs) / 1000)
    }
    let bareMicros = bare(for: item.mechanism) / 1000
    print(
        pad(item.mechanism, 15) + pad(item.secret, 28) + pad(format(results[0]), 13)
            + pad(String(Int(1_000_000 / results[0])), 10) + pad(format(results[1]), 15) + pad(format(bareMicros), 14)
            + format(results[1] - bareMicros)
    )
    unlink(path)
}
print("bare hash: CRAM-MD5 = one HMAC-MD5; DIGEST-MD5 = five MD5; SCRAM = one PBKDF2 at 4096 iterations")
