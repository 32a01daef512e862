import Foundation
import XCTest

/// Real SASL clients against our server mechanisms: Debian's Cyrus `sasl-sample-client` (Tests/Interop/cyrus-auth.py),
/// GNU SASL's `gsasl` (Tests/Interop/gsasl-auth.py) and Perl's Authen::SASL (Tests/Interop/perl-auth.pl), each talking
/// to `sasldb sasl-sample-server` through a symlink of that name.
///
/// Every harness run prints one line and exits 0 (ACCEPTED), 1 (REJECTED, with the server's reason) or 2 (ERROR: the
/// exchange could not run). A 2 always fails the test, so a broken peer never passes as a rejection. Runs are
/// independent processes, so they go three at a time.
final class MechanismInteropTests: XCTestCase {
    private var directory: URL!
    private var server: String { directory.appendingPathComponent("sasl-sample-server").path }

    override func setUpWithError() throws {
        try TestSupport.require("python3", "stdbuf")
        directory = try TestSupport.temporaryDirectory(for: self)
        let binary = URL(fileURLWithPath: TestSupport.sasldb).standardizedFileURL.path
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: binary), "build sasldb first: \(binary)")
        try FileManager.default.createSymbolicLink(atPath: server, withDestinationPath: binary)
    }

    // MARK: - Each mechanism with each kind of stored secret

    func testCyrusSampleClientAuthenticatesWithEachMechanismAgainstOurServer() throws {
        try require(.cyrus)
        try check(try matrix(for: .cyrus))
    }

    func testGNUSASLClientAuthenticatesWithEachMechanismAgainstOurServer() throws {
        try require(.gsasl)
        var attempts = try matrix(for: .gsasl)
        // A verifier serves its own mechanism (and PLAIN/LOGIN), never another challenge-response mechanism.
        for secret in Secret.allCases where secret != .plaintext {
            let database = try makeDatabase("\(secret.rawValue).db", secrets: [secret])
            for mechanism in Self.challengeResponse where !secret.mechanisms.contains(mechanism) {
                attempts.append(Attempt(.gsasl, database, mechanism, password: Self.password, expect: .rejected))
            }
        }
        try check(attempts)
    }

    func testPerlAuthenSASLClientAuthenticatesWithEachMechanismAgainstOurServer() throws {
        try require(.perl)
        var attempts = try matrix(for: .perl)
        // Authen::SASL 2.16 (Debian 12) has no SCRAM; the harness says so instead of pretending a rejection.
        let database = try makeDatabase("plain-scram.db", secrets: [.plaintext])
        for mechanism in ["SCRAM-SHA-1", "SCRAM-SHA-256"] {
            attempts.append(
                Attempt(.perl, database, mechanism, password: Self.password, expect: .harnessError("has no SCRAM"))
            )
        }
        try check(attempts)
    }

    // MARK: - Files made by Cyrus

    func testUserMadeByDebianSaslpasswd2AuthenticatesThroughOurServerWithEveryClient() throws {
        try TestSupport.require("saslpasswd2")
        let clients = try availableClients()
        let database = directory.appendingPathComponent("cyrus.db").path
        let made = try TestSupport.run(
            "saslpasswd2",
            ["-f", database, "-p", "-u", "Example.COM", "alice"],
            input: Data("from-cyrus\n".utf8),
            environment: ["SASL_CONF_PATH": directory.path]
        )
        XCTAssertEqual(made.status, 0, made.stderrText)
        var attempts: [Attempt] = []
        for client in clients {
            for mechanism in Self.allMechanisms where client.supports(mechanism) {
                attempts.append(Attempt(client, database, mechanism, password: "from-cyrus", expect: .accepted()))
                attempts.append(Attempt(client, database, mechanism, password: "from-cyruz", expect: .rejected))
            }
        }
        try check(attempts)
    }

    // MARK: - Non-ASCII passwords

    /// `pässwörd`: DIGEST-MD5 from the stored hash alone needs clients that hash ISO-8859-1 when the password fits
    /// (RFC 2831); SCRAM from the stored authPassword alone needs SASLprep on both sides.
    func testUTF8PasswordWithDigestMD5FromTheHashAloneAndSCRAMWithSASLprep() throws {
        let clients = try availableClients()
        let user = "bob"
        let realm = "mail.example.org"
        let password = "p\u{E4}ssw\u{F6}rd"
        let decomposed = "pa\u{308}sswo\u{308}rd"  // NFD of the same: SASLprep (NFKC) makes it `password` again
        let wrong = "passw\u{F6}rd"
        func add(_ name: String, _ secrets: [Secret]) throws -> String {
            try makeDatabase(name, user: "\(user)@\(realm)", password: password, secrets: secrets)
        }
        func attempt(
            _ client: Client,
            _ database: String,
            _ mechanism: String,
            _ password: String,
            _ expect: Expectation,
            _ options: [String] = []
        ) -> Attempt {
            Attempt(client, database, mechanism, user: user, realm: realm, password: password, options, expect: expect)
        }
        let accepted = Expectation.accepted(username: "\(user)@\(realm)")
        let plaintext = try add("utf8-plain.db", [.plaintext])
        let digest = try add("utf8-digest.db", [.digestMD5])
        let scram1 = try add("utf8-scram1.db", [.scramSHA1])
        let scram256 = try add("utf8-scram256.db", [.scramSHA256])
        var attempts: [Attempt] = []
        for client in clients where client != .perl {
            attempts += [
                attempt(client, digest, "DIGEST-MD5", password, accepted),
                attempt(client, digest, "DIGEST-MD5", wrong, .rejected),
                attempt(client, plaintext, "DIGEST-MD5", password, accepted),
                attempt(client, scram1, "SCRAM-SHA-1", password, accepted),
                attempt(client, scram1, "SCRAM-SHA-1", wrong, .rejected),
                attempt(client, scram256, "SCRAM-SHA-256", password, accepted),
                attempt(client, scram256, "SCRAM-SHA-256", wrong, .rejected),
                attempt(client, plaintext, "SCRAM-SHA-256", password, accepted),
            ]
        }
        if clients.contains(.gsasl) {
            // gsasl applies SASLprep to the password; our server to the stored one.
            attempts += [
                attempt(.gsasl, scram1, "SCRAM-SHA-1", decomposed, accepted),
                attempt(.gsasl, scram256, "SCRAM-SHA-256", decomposed, accepted),
                attempt(.gsasl, plaintext, "SCRAM-SHA-1", decomposed, accepted),
                attempt(.gsasl, plaintext, "SCRAM-SHA-256", decomposed, accepted),
            ]
        }
        if clients.contains(.perl) {
            // Authen::SASL::Perl hashes the password as the Perl string it gets. The UTF-8 bytes of a command line
            // (swaks, Net::SMTP with a byte string) break RFC 2831's ISO-8859-1 rule, so only the plaintext can check
            // that digest; a decoded character string is hashed as ISO-8859-1 and matches the stored hash.
            attempts += [
                attempt(.perl, plaintext, "DIGEST-MD5", password, accepted),
                attempt(.perl, digest, "DIGEST-MD5", password, .rejected),
                attempt(.perl, digest, "DIGEST-MD5", password, accepted, ["--decode-password"]),
                attempt(.perl, digest, "DIGEST-MD5", wrong, .rejected, ["--decode-password"]),
                attempt(.perl, plaintext, "PLAIN", password, accepted),
                attempt(.perl, digest, "PLAIN", password, accepted),
            ]
        }
        try check(attempts)
    }

    // MARK: - Login names

    /// `alice` with `-u Example.COM`, `alice@Example.COM` with `-u Example.COM` and `alice@Example.COM` with no `-u`
    /// (offered realm `localhost`) all log in as alice@Example.COM with every mechanism; `alice` with no `-u` is
    /// alice@localhost, who does not exist.
    func testLoginNameFormsWithEachMechanismAndEachClient() throws {
        let clients = try availableClients()
        let database = try makeDatabase("forms.db", secrets: [.plaintext])
        var attempts: [Attempt] = []
        for client in clients {
            for mechanism in Self.allMechanisms where client.supports(mechanism) {
                attempts += [
                    Attempt(
                        client,
                        database,
                        mechanism,
                        password: Self.password,
                        ["--authid-with-realm"],
                        expect: .accepted()
                    ),
                    Attempt(
                        client,
                        database,
                        mechanism,
                        user: "alice@Example.COM",
                        realm: "",
                        password: Self.password,
                        expect: .accepted()
                    ),
                ]
            }
            attempts.append(
                Attempt(client, database, "PLAIN", realm: "", password: Self.password, expect: .rejected)
            )
        }
        try check(attempts)
    }

    // MARK: - DIGEST-MD5 with username="u@realm"

    /// Clients that take `alice@Example.COM` as their login name send `username="alice@Example.COM"` with the realm
    /// the server offered: Cyrus's sample client (`-a alice@Example.COM`), gsasl (`-a alice@Example.COM`, with or
    /// without `--realm` matching the offer) and Authen::SASL (`user => 'alice@Example.COM'`, hence swaks). Their
    /// digest is over H("alice@Example.COM" ":" offered-realm ":" password), which the plaintext can check and the
    /// stored H("alice" ":" "Example.COM" ":" password) cannot: accepted with `userPassword`, rejected with the
    /// DIGEST-MD5 hash alone. With the hash alone, log in as `alice` and either let the server offer the user's realm
    /// (`-u Example.COM`) or set the client's realm (gsasl `--realm`, Authen::SASL's `realm` callback).
    func testDigestMD5UsernameWithRealmIsCheckedOnlyFromThePlaintext() throws {
        let clients = try availableClients()
        let plaintext = try makeDatabase("dm-plain.db", secrets: [.plaintext])
        let hashOnly = try makeDatabase("dm-hash.db", secrets: [.digestMD5])
        var attempts: [Attempt] = []
        for client in clients {
            for (database, expect) in [(plaintext, Expectation.accepted()), (hashOnly, .rejected)] {
                attempts += [
                    // username="alice@Example.COM" realm="Example.COM" (offered by -u)
                    Attempt(
                        client,
                        database,
                        "DIGEST-MD5",
                        password: Self.password,
                        ["--authid-with-realm"],
                        expect: expect
                    ),
                    // username="alice@Example.COM" realm="localhost" (offered: the host name)
                    Attempt(
                        client,
                        database,
                        "DIGEST-MD5",
                        user: "alice@Example.COM",
                        realm: "",
                        password: Self.password,
                        expect: expect
                    ),
                ]
            }
            // username="alice" realm="Example.COM": the record's own names, which the hash can check
            attempts.append(Attempt(client, hashOnly, "DIGEST-MD5", password: Self.password, expect: .accepted()))
            attempts.append(Attempt(client, hashOnly, "DIGEST-MD5", password: Self.wrongPassword, expect: .rejected))
            if client != .cyrus {
                // The server offers `localhost`; the client picks Example.COM itself.
                let ownRealm = ["--client-realm", "Example.COM"]
                attempts += [
                    Attempt(
                        client,
                        hashOnly,
                        "DIGEST-MD5",
                        realm: "",
                        password: Self.password,
                        ownRealm,
                        expect: .accepted()
                    ),
                    Attempt(
                        client,
                        plaintext,
                        "DIGEST-MD5",
                        realm: "",
                        password: Self.password,
                        ownRealm,
                        expect: .accepted()
                    ),
                    Attempt(
                        client,
                        hashOnly,
                        "DIGEST-MD5",
                        realm: "",
                        password: Self.wrongPassword,
                        ownRealm,
                        expect: .rejected
                    ),
                    // username="alice@Example.COM" with the client's own realm equal to the offered one
                    Attempt(
                        client,
                        plaintext,
                        "DIGEST-MD5",
                        password: Self.password,
                        ["--authid-with-realm"] + ownRealm,
                        expect: .accepted()
                    ),
                    Attempt(
                        client,
                        hashOnly,
                        "DIGEST-MD5",
                        password: Self.password,
                        ["--authid-with-realm"] + ownRealm,
                        expect: .rejected
                    ),
                ]
            }
        }
        try check(attempts)
    }

    // MARK: - Cases

    private static let allMechanisms = ["PLAIN", "LOGIN", "CRAM-MD5", "DIGEST-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256"]
    private static let challengeResponse = ["CRAM-MD5", "DIGEST-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256"]
    private static let password = "Tr0ub4dor&3"
    private static let wrongPassword = "Tr0ub4dor&4"

    /// Each kind of stored secret alone, with each mechanism it serves (and the client has): right password accepted,
    /// wrong password rejected.
    private func matrix(for client: Client) throws -> [Attempt] {
        var attempts: [Attempt] = []
        for secret in Secret.allCases {
            let database = try makeDatabase("\(secret.rawValue).db", secrets: [secret])
            for mechanism in secret.mechanisms where client.supports(mechanism) {
                attempts.append(Attempt(client, database, mechanism, password: Self.password, expect: .accepted()))
                attempts.append(Attempt(client, database, mechanism, password: Self.wrongPassword, expect: .rejected))
            }
        }
        return attempts
    }

    /// A new Berkeley DB sasldb holding one user with exactly `secrets`.
    private func makeDatabase(
        _ name: String,
        user: String = "alice@Example.COM",
        password: String = MechanismInteropTests.password,
        secrets: [Secret]
    ) throws -> String {
        let path = directory.appendingPathComponent(name).path
        if FileManager.default.fileExists(atPath: path) { return path }
        let list = secrets.map(\.rawValue).joined(separator: ",")
        let result = try TestSupport.sasldb(
            ["add", "-f", path, "--format", "bdb", "--stdin", "--secrets", list, user],
            input: password + "\n"
        )
        guard result.status == 0 else {
            XCTFail("sasldb add \(user) failed: \(result.stderrText)")
            throw CocoaError(.fileWriteUnknown)
        }
        return path
    }

    private func require(_ client: Client) throws {
        switch client {
        case .cyrus: try TestSupport.require("sasl-sample-client")
        case .gsasl: try TestSupport.require("gsasl")
        case .perl:
            try TestSupport.require("perl")
            let probe = try TestSupport.run("perl", ["-MAuthen::SASL::Perl::DIGEST_MD5", "-e", "1"], timeout: 20)
            if probe.status != 0 {
                if ProcessInfo.processInfo.environment["CI"] == "true" {
                    XCTFail("Authen::SASL is not installed: .ci/run must install libauthen-sasl-perl")
                }
                throw XCTSkip("Authen::SASL (libauthen-sasl-perl) is not installed")
            }
        }
    }

    /// The clients installed here (in CI a missing one fails); skips when there is none.
    private func availableClients() throws -> [Client] {
        var clients: [Client] = []
        for client in Client.allCases {
            do {
                try require(client)
                clients.append(client)
            } catch is XCTSkip {
                continue
            }
        }
        if clients.isEmpty { throw XCTSkip("no SASL client installed (sasl-sample-client, gsasl, Authen::SASL)") }
        return clients
    }

    /// Runs every attempt (three at a time) and checks each outcome.
    private func check(_ attempts: [Attempt], file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertFalse(attempts.isEmpty, "no attempt", file: file, line: line)
        let harnesses = Dictionary(uniqueKeysWithValues: Client.allCases.map { ($0, harness($0)) })
        let outcomes = Outcomes(count: attempts.count)
        let server = self.server
        DispatchQueue.concurrentPerform(iterations: min(3, attempts.count)) { _ in
            while let index = outcomes.next() {
                let attempt = attempts[index]
                outcomes.record(
                    index,
                    Result {
                        try TestSupport.run(
                            attempt.client.interpreter,
                            [harnesses[attempt.client] ?? ""] + attempt.arguments(server: server),
                            timeout: 40
                        )
                    }
                )
            }
        }
        for (attempt, outcome) in zip(attempts, outcomes.results) {
            guard let outcome else {
                XCTFail("\(attempt): not run", file: file, line: line)
                continue
            }
            let result: CommandResult
            do {
                result = try outcome.get()
            } catch {
                XCTFail("\(attempt): \(error)", file: file, line: line)
                continue
            }
            let said = (result.stdoutText + result.stderrText).trimmingCharacters(in: .whitespacesAndNewlines)
            switch attempt.expect {
            case .accepted(let username):
                XCTAssertEqual(result.status, 0, "\(attempt) should be accepted: \(said)", file: file, line: line)
                if result.status == 0 {
                    XCTAssertTrue(
                        result.stdoutText.contains("username=\(username)\n"),
                        "\(attempt) should log in \(username): \(said)",
                        file: file,
                        line: line
                    )
                }
            case .rejected:
                XCTAssertEqual(result.status, 1, "\(attempt) should be rejected: \(said)", file: file, line: line)
            case .harnessError(let text):
                XCTAssertEqual(result.status, 2, "\(attempt) should not run: \(said)", file: file, line: line)
                XCTAssertTrue(result.stdoutText.contains(text), "\(attempt): \(said)", file: file, line: line)
            }
        }
    }

    private func harness(_ client: Client) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Interop").appendingPathComponent(client.script).path
    }
}

/// A SASL client driven by one of the Tests/Interop harnesses.
private enum Client: String, CaseIterable, Sendable {
    case cyrus = "Cyrus sasl-sample-client"
    case gsasl = "GNU SASL gsasl"
    case perl = "Perl Authen::SASL"

    var script: String {
        switch self {
        case .cyrus: "cyrus-auth.py"
        case .gsasl: "gsasl-auth.py"
        case .perl: "perl-auth.pl"
        }
    }

    var interpreter: String { self == .perl ? "perl" : "python3" }

    /// Authen::SASL 2.16 has no SCRAM.
    func supports(_ mechanism: String) -> Bool { self != .perl || !mechanism.hasPrefix("SCRAM-") }
}

/// A kind of stored secret, by its `sasldb add --secrets` name.
private enum Secret: String, CaseIterable, Sendable {
    case plaintext = "plain"
    case cramMD5 = "cram-md5"
    case digestMD5 = "digest-md5"
    case scramSHA1 = "scram-sha-1"
    case scramSHA256 = "scram-sha-256"

    /// The mechanisms our server serves from this secret alone: PLAIN and LOGIN check a password against any of them.
    var mechanisms: [String] {
        switch self {
        case .plaintext: ["PLAIN", "LOGIN", "CRAM-MD5", "DIGEST-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256"]
        case .cramMD5: ["CRAM-MD5", "PLAIN", "LOGIN"]
        case .digestMD5: ["DIGEST-MD5", "PLAIN", "LOGIN"]
        case .scramSHA1: ["SCRAM-SHA-1", "PLAIN", "LOGIN"]
        case .scramSHA256: ["SCRAM-SHA-256", "PLAIN", "LOGIN"]
        }
    }
}

/// What a harness run must end in.
private enum Expectation: Sendable {
    /// Exit 0, and the server's `Username:` line names `username`.
    case accepted(username: String = "alice@Example.COM")
    /// Exit 1: the server refused.
    case rejected
    /// Exit 2 with this text: the exchange cannot run with this client.
    case harnessError(String)
}

/// One harness run: a client logging in to our server with one mechanism.
private struct Attempt: Sendable, CustomStringConvertible {
    var client: Client
    var database: String
    var mechanism: String
    /// The client's login name (`--user`).
    var user: String
    /// The server's `-u`; empty for none (the realm is then the host name, `localhost`).
    var realm: String
    var password: String
    /// More harness options: `--authid-with-realm`, `--client-realm R`, `--decode-password`.
    var options: [String]
    var expect: Expectation

    init(
        _ client: Client,
        _ database: String,
        _ mechanism: String,
        user: String = "alice",
        realm: String = "Example.COM",
        password: String,
        _ options: [String] = [],
        expect: Expectation
    ) {
        self.client = client
        self.database = database
        self.mechanism = mechanism
        self.user = user
        self.realm = realm
        self.password = password
        self.options = options
        self.expect = expect
    }

    func arguments(server: String) -> [String] {
        [
            "--server-bin", server, "--db", database, "--mech", mechanism, "--user=\(user)", "--realm=\(realm)",
            "--password=\(password)", "--timeout", "20",
        ] + options
    }

    var description: String {
        let extra = options.isEmpty ? "" : " " + options.joined(separator: " ")
        let name = URL(fileURLWithPath: database).lastPathComponent
        return "\(client.rawValue) \(mechanism) user=\(user) -u '\(realm)'\(extra) password=\(password) db=\(name)"
    }
}

/// The results of runs made on several threads, and the next run to start.
private final class Outcomes: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [Result<CommandResult, any Error>?]
    private var nextIndex = 0

    init(count: Int) { storage = Array(repeating: nil, count: count) }

    var results: [Result<CommandResult, any Error>?] { lock.withLock { storage } }

    func next() -> Int? {
        lock.withLock {
            guard nextIndex < storage.count else { return nil }
            defer { nextIndex += 1 }
            return nextIndex
        }
    }

    func record(_ index: Int, _ result: Result<CommandResult, any Error>) { lock.withLock { storage[index] = result } }
}
