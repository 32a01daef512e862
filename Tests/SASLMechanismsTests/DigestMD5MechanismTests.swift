import SASLDB
import XCTest

@testable import SASLMechanisms

final class DigestMD5MechanismTests: XCTestCase {
    // MARK: Fixtures

    /// The nonce of every exchange built by ``start(_:)``, so expected digests can be computed in advance.
    private let nonce = "3kOm1jyWq3Ch0KLJ1Y1T7CiYb0sX6yLsHb8h7WQv"
    private let cnonce = "OA6MHXh6VqTrRk"
    private let host = MechanismFixture.hostName
    private let realm = MechanismFixture.defaultRealm
    private let hashOnly = SecretPolicy(plaintext: false, digestMD5: true)
    private let authFailed = SASLStep.failure(.authenticationFailed(reason: PasswordCheck.failureReason))

    private func user(_ authid: String, _ realm: String) -> UserID {
        UserID(authid: Array(authid.utf8), realm: Array(realm.utf8))
    }

    /// A mechanism that has sent its challenge.
    private func start(
        _ context: SASLServerContext,
        hosts: DigestMD5Mechanism.AcceptedHosts = .hostNameOnly,
        file: StaticString = #filePath,
        line: UInt = #line
    ) -> DigestMD5Mechanism {
        var mechanism = DigestMD5Mechanism(context: context, acceptedHosts: hosts, nonce: nonce)
        guard case .challenge = mechanism.step(nil) else {
            XCTFail("no challenge", file: file, line: line)
            return mechanism
        }
        return mechanism
    }

    /// Sends `response` after the challenge and returns the server's answer.
    private func answer(
        _ response: [UInt8],
        _ context: SASLServerContext,
        hosts: DigestMD5Mechanism.AcceptedHosts = .hostNameOnly
    ) -> SASLStep {
        var mechanism = start(context, hosts: hosts)
        return mechanism.step(response)
    }

    private func answer(_ response: String, _ context: SASLServerContext) -> SASLStep {
        answer(Array(response.utf8), context)
    }

    /// Runs the whole exchange; returns the final step, or the failing one.
    private func exchange(_ response: [UInt8], _ context: SASLServerContext) -> SASLStep {
        var mechanism = start(context)
        let second = mechanism.step(response)
        guard case .challenge = second else { return second }
        return mechanism.step([])
    }

    private func exchange(_ response: String, _ context: SASLServerContext) -> SASLStep {
        exchange(Array(response.utf8), context)
    }

    /// A client's digest-response, computed independently of the mechanism from RFC 2831 §2.1.2.1.
    private struct Client {
        var username: [UInt8]
        var realm: [UInt8]?
        var password: [UInt8]
        var nonce: String
        var cnonce = "OA6MHXh6VqTrRk"
        var nc = "00000001"
        var qop: String? = "auth"
        var digestURI = "smtp/\(MechanismFixture.hostName)"
        var authzid: String?
        var charset: String? = "utf-8"

        init(_ username: String, realm: String?, password: String, nonce: String) {
            self.username = Array(username.utf8)
            self.realm = realm.map { Array($0.utf8) }
            self.password = Array(password.utf8)
            self.nonce = nonce
        }

        /// HEX(KD(HEX(H(A1)), nonce:nc:cnonce:qop:HEX(H(A2)))) for `a2Prefix` "AUTHENTICATE" or "" (rspauth).
        func digest(a2Prefix: String, hashingPassword: [UInt8]? = nil) -> String {
            let md5 = HashAlgorithm.md5
            let inner = md5.digest(
                username + Array(":".utf8) + (realm ?? []) + Array(":".utf8) + (hashingPassword ?? password)
            )
            var a1 = inner + Array(":\(nonce):\(cnonce)".utf8)
            if let authzid { a1 += Array(":\(authzid)".utf8) }
            let a2 = Hex.encode(md5.digest(Array("\(a2Prefix):\(digestURI)".utf8)))
            let kd = "\(Hex.encode(md5.digest(a1))):\(nonce):\(nc):\(cnonce):\(qop ?? "auth"):\(a2)"
            return Hex.encode(md5.digest(Array(kd.utf8)))
        }

        var rspauth: [UInt8] { Array("rspauth=\(digest(a2Prefix: ""))".utf8) }

        /// The digest-response; `response` overrides the computed digest.
        func message(response: String? = nil, extra: String = "") -> [UInt8] {
            var parts: [[UInt8]] = []
            if let charset { parts.append(Array("charset=\(charset)".utf8)) }
            parts.append(Array("username=\"".utf8) + username + Array("\"".utf8))
            if let realm { parts.append(Array("realm=\"".utf8) + realm + Array("\"".utf8)) }
            parts.append(Array("nonce=\"\(nonce)\",nc=\(nc),cnonce=\"\(cnonce)\"".utf8))
            if let qop { parts.append(Array("qop=\(qop)".utf8)) }
            parts.append(Array("digest-uri=\"\(digestURI)\"".utf8))
            if let authzid { parts.append(Array("authzid=\"\(authzid)\"".utf8)) }
            parts.append(Array("response=\(response ?? digest(a2Prefix: "AUTHENTICATE"))".utf8))
            if !extra.isEmpty { parts.append(Array(extra.utf8)) }
            return Array(parts.joined(separator: Array(",".utf8)))
        }
    }

    private func client(_ username: String, realm: String?, password: String) -> Client {
        Client(username, realm: realm, password: password, nonce: nonce)
    }

    private func reason(_ step: SASLStep) -> String? {
        switch step {
        case .failure(.malformed(let reason)), .failure(.authenticationFailed(let reason)),
            .failure(.authorizationDenied(let reason)), .failure(.temporary(let reason)):
            return reason
        default:
            return nil
        }
    }

    private func assertMalformed(
        _ step: SASLStep,
        mentioning fragment: String,
        file: StaticString = #filePath,
        line: UInt = #line
    ) {
        guard case .failure(.malformed(let reason)) = step else {
            XCTFail("expected a malformed failure, got \(step)", file: file, line: line)
            return
        }
        XCTAssertTrue(
            reason.contains(fragment),
            "reason \(reason.debugDescription) lacks \(fragment)",
            file: file,
            line: line
        )
    }

    /// A store with alice@example.org (plaintext "secret"), and hash-only henry@example.org ("secret").
    private func standardFixture() throws -> MechanismFixture {
        try MechanismFixture(users: [("alice", "secret", .cyrusDefault), ("henry", "secret", hashOnly)])
    }

    // MARK: RFC 2831 §4

    private let rfcChallenge =
        "realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\",qop=\"auth\",charset=utf-8,algorithm=md5-sess"
    private let rfcResponse =
        "charset=utf-8,username=\"chris\",realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\",nc=00000001,"
        + "cnonce=\"OA6MHXh6VqTrRk\",digest-uri=\"imap/elwood.innosoft.com\","
        + "response=d388dad90d4bbd760a152321f2143af7,qop=auth"

    private func rfcFixture(_ policy: SecretPolicy) throws -> MechanismFixture {
        var fixture = try MechanismFixture(
            users: [("chris", "secret", policy)],
            hostName: "elwood.innosoft.com",
            defaultRealm: "elwood.innosoft.com"
        )
        fixture.context.service = "imap"
        return fixture
    }

    private func assertRFCExample(_ policy: SecretPolicy, file: StaticString = #filePath, line: UInt = #line) throws {
        let fixture = try rfcFixture(policy)
        var mechanism = DigestMD5Mechanism(context: fixture.context, nonce: "OA6MG9tEQGm2hh")
        XCTAssertEqual(mechanism.step(nil), .challenge(Array(rfcChallenge.utf8)), file: file, line: line)
        XCTAssertEqual(
            mechanism.step(Array(rfcResponse.utf8)),
            .challenge(Array("rspauth=ea40f60335c427b5527b84dbabcdfffd".utf8)),
            file: file,
            line: line
        )
        XCTAssertEqual(
            mechanism.step([]),
            .success(AuthenticatedIdentity(user: user("chris", "elwood.innosoft.com"))),
            file: file,
            line: line
        )
        XCTAssertEqual(
            mechanism.step([]),
            .failure(.malformed(reason: "the DIGEST-MD5 exchange is already over")),
            file: file,
            line: line
        )
    }

    func testRFC2831ExampleFromPlaintext() throws {
        try assertRFCExample(.cyrusDefault)
    }

    func testRFC2831ExampleFromStoredHashAlone() throws {
        let fixture = try rfcFixture(hashOnly)
        let secrets = try fixture.store.secrets(of: user("chris", "elwood.innosoft.com"))
        XCTAssertNil(secrets.plaintext)
        XCTAssertNotNil(secrets.digestMD5)
        try assertRFCExample(hashOnly)
    }

    func testRFC2831ExampleWithWrongPasswordFails() throws {
        let fixture = try MechanismFixture(
            users: [("chris", "Secret", .cyrusDefault)],
            hostName: "elwood.innosoft.com",
            defaultRealm: "elwood.innosoft.com"
        )
        var context = fixture.context
        context.service = "imap"
        var mechanism = DigestMD5Mechanism(context: context, nonce: "OA6MG9tEQGm2hh")
        _ = mechanism.step(nil)
        XCTAssertEqual(mechanism.step(Array(rfcResponse.utf8)), authFailed)
    }

    // MARK: Challenge

    func testChallengeHasAFreshNonceAndOnlyQopAuth() throws {
        let context = try standardFixture().context
        var first = DigestMD5Mechanism(context: context)
        var second = DigestMD5Mechanism(context: context)
        guard case .challenge(let a) = first.step(nil), case .challenge(let b) = second.step(nil) else {
            return XCTFail("no challenge")
        }
        XCTAssertNotEqual(a, b)
        let directives = try DigestDirectives(
            parsing: a,
            known: ["realm", "nonce", "qop", "charset", "algorithm"],
            repeatable: ["realm"]
        )
        XCTAssertEqual(directives.ignoredNames, [])
        XCTAssertEqual(directives.values(of: "realm"), [Array(realm.utf8)])
        XCTAssertEqual(directives["qop"], Array("auth".utf8))
        XCTAssertEqual(directives["charset"], Array("utf-8".utf8))
        XCTAssertEqual(directives["algorithm"], Array("md5-sess".utf8))
        let challengeNonce = try XCTUnwrap(directives["nonce"])
        XCTAssertEqual(challengeNonce.count, 40)
        XCTAssertEqual(Base64.decode(bytes: challengeNonce)?.count, 30)
    }

    func testChallengeOffersTheDefaultRealmAsCyrusDoes() throws {
        // Cyrus offers user_realm when set, else its host name; SASLServerContext's default realm is the same rule.
        let lookup = try MechanismFixture().store
        var withRealm = DigestMD5Mechanism(
            context: SASLServerContext(lookup: lookup, hostName: "mx.example.net", defaultRealm: "Example.COM"),
            nonce: "n"
        )
        var withoutRealm = DigestMD5Mechanism(
            context: SASLServerContext(lookup: lookup, hostName: "mx.example.net"),
            nonce: "n"
        )
        XCTAssertEqual(
            withRealm.step(nil),
            .challenge(Array("realm=\"Example.COM\",nonce=\"n\",qop=\"auth\",charset=utf-8,algorithm=md5-sess".utf8))
        )
        XCTAssertEqual(
            withoutRealm.step(nil),
            .challenge(Array("realm=\"mx.example.net\",nonce=\"n\",qop=\"auth\",charset=utf-8,algorithm=md5-sess".utf8))
        )
    }

    func testRealmIsEscapedInTheChallenge() throws {
        let lookup = try MechanismFixture().store
        var mechanism = DigestMD5Mechanism(
            context: SASLServerContext(lookup: lookup, hostName: "h", defaultRealm: #"a"b\c"#),
            nonce: "n"
        )
        XCTAssertEqual(
            mechanism.step(nil),
            .challenge(Array(#"realm="a\"b\\c",nonce="n",qop="auth",charset=utf-8,algorithm=md5-sess"#.utf8))
        )
    }

    func testEmptyDefaultRealmIsNotOfferedAndAnEmptyRealmIsUsed() throws {
        let fixture = try MechanismFixture(users: [("bare@", "secret", .cyrusDefault)], defaultRealm: "")
        var mechanism = DigestMD5Mechanism(context: fixture.context, nonce: nonce)
        XCTAssertEqual(
            mechanism.step(nil),
            .challenge(Array("nonce=\"\(nonce)\",qop=\"auth\",charset=utf-8,algorithm=md5-sess".utf8))
        )
        // RFC 2831: without a realm directive the realm-value is empty.
        let c = client("bare", realm: nil, password: "secret")
        XCTAssertEqual(mechanism.step(c.message()), .challenge(c.rspauth))
        XCTAssertEqual(mechanism.step([]), .success(AuthenticatedIdentity(user: user("bare", ""))))
    }

    func testTooLongRealmIsATemporaryFailure() throws {
        let lookup = try MechanismFixture().store
        var mechanism = DigestMD5Mechanism(
            context: SASLServerContext(lookup: lookup, hostName: "h", defaultRealm: String(repeating: "r", count: 2000))
        )
        guard case .failure(.temporary) = mechanism.step(nil) else { return XCTFail("expected a temporary failure") }
    }

    // MARK: Plaintext and stored hash

    func testPlaintextUserWithFullExchange() throws {
        let fixture = try standardFixture()
        let c = client("alice", realm: realm, password: "secret")
        var mechanism = start(fixture.context)
        XCTAssertEqual(mechanism.step(c.message()), .challenge(c.rspauth))
        XCTAssertEqual(mechanism.step([]), .success(AuthenticatedIdentity(user: user("alice", realm))))
    }

    func testStoredHashAloneVerifies() throws {
        let fixture = try standardFixture()
        XCTAssertNil(try fixture.store.secrets(of: user("henry", realm)).plaintext)
        let c = client("henry", realm: realm, password: "secret")
        XCTAssertEqual(
            exchange(c.message(), fixture.context),
            .success(AuthenticatedIdentity(user: user("henry", realm)))
        )
        XCTAssertEqual(answer(client("henry", realm: realm, password: "wrong").message(), fixture.context), authFailed)
    }

    func testPlaintextWinsOverStoredHashAsInCyrus() throws {
        // A record with userPassword "pwA" and a DIGEST-MD5 hash of "pwB": Cyrus uses the plaintext alone.
        let fixture = try MechanismFixture()
        try fixture.putRecords(
            [
                .userPassword: Array("pwA".utf8),
                .digestMD5: DigestMD5Secret.hash(
                    authid: Array("carol".utf8),
                    realm: Array(realm.utf8),
                    password: Array("pwB".utf8)
                ),
            ],
            for: "carol"
        )
        XCTAssertEqual(
            exchange(client("carol", realm: realm, password: "pwA").message(), fixture.context),
            .success(AuthenticatedIdentity(user: user("carol", realm)))
        )
        XCTAssertEqual(answer(client("carol", realm: realm, password: "pwB").message(), fixture.context), authFailed)
    }

    // MARK: ISO-8859-1

    func testLatin1FallbackFromPlaintextAndFromStoredHash() throws {
        let fixture = try MechanismFixture(
            users: [("bob", "pässwörd", .cyrusDefault), ("bert", "pässwörd", hashOnly)]
        )
        let latin1Password: [UInt8] = Array("p".utf8) + [0xe4] + Array("ssw".utf8) + [0xf6] + Array("rd".utf8)
        for name in ["bob", "bert"] {
            // RFC 2831 clients (Cyrus, GNU SASL) hash the password in ISO-8859-1 when it is representable.
            let c = client(name, realm: realm, password: "pässwörd")
            let response = c.digest(a2Prefix: "AUTHENTICATE", hashingPassword: latin1Password)
            XCTAssertEqual(
                exchange(c.message(response: response), fixture.context),
                .success(AuthenticatedIdentity(user: user(name, realm))),
                name
            )
        }
        // Clients that hash the raw UTF-8 (Perl Authen::SASL) are accepted from the plaintext, as Cyrus does, but
        // the stored hash holds only the converted form.
        let rawClient = client("bob", realm: realm, password: "pässwörd")
        XCTAssertEqual(
            exchange(rawClient.message(), fixture.context),
            .success(AuthenticatedIdentity(user: user("bob", realm)))
        )
        XCTAssertEqual(
            answer(client("bert", realm: realm, password: "pässwörd").message(), fixture.context),
            authFailed
        )
    }

    func testLatin1UsernameWithoutCharsetIsMappedToUTF8() throws {
        let fixture = try MechanismFixture(users: [("jörg", "secret", .cyrusDefault), ("jürgen", "secret", hashOnly)])
        for name in ["jörg", "jürgen"] {
            // Without charset=utf-8 the client sends and hashes the name in ISO-8859-1.
            let latin1Name = Latin1.convertIfRepresentable(Array(name.utf8))
            var c = client("x", realm: realm, password: "secret")
            c.username = latin1Name
            c.charset = nil
            XCTAssertEqual(
                exchange(c.message(), fixture.context),
                .success(AuthenticatedIdentity(user: UserID(authid: Array(name.utf8), realm: Array(realm.utf8)))),
                name
            )
        }
    }

    func testUTF8UsernameWithCharset() throws {
        let fixture = try MechanismFixture(users: [("jürgen", "secret", hashOnly)])
        // With charset=utf-8 the name travels in UTF-8 and is hashed in ISO-8859-1 (GNU SASL, Cyrus).
        var hashing = client("x", realm: realm, password: "secret")
        hashing.username = Latin1.convertIfRepresentable(Array("jürgen".utf8))
        let c = client("jürgen", realm: realm, password: "secret")
        XCTAssertEqual(
            exchange(c.message(response: hashing.digest(a2Prefix: "AUTHENTICATE")), fixture.context),
            .success(AuthenticatedIdentity(user: user("jürgen", realm)))
        )
    }

    // MARK: User and realm mapping

    func testUserAtRealmWithTheOfferedRealmWorksFromPlaintext() throws {
        // swaks, curl, msmtp and Cyrus's own client send username="u@realm" and the realm the server offered.
        let fixture = try MechanismFixture(users: [("alice@Example.COM", "secret", .cyrusDefault)])
        let c = client("alice@Example.COM", realm: realm, password: "secret")
        XCTAssertEqual(
            exchange(c.message(), fixture.context),
            .success(AuthenticatedIdentity(user: user("alice", "Example.COM")))
        )
    }

    func testUserAtRealmWithTheOfferedRealmFailsFromStoredHashWithItsCause() throws {
        let fixture = try MechanismFixture(users: [("alice@Example.COM", "secret", hashOnly)])
        let step = answer(client("alice@Example.COM", realm: realm, password: "secret").message(), fixture.context)
        guard case .failure(.authenticationFailed(let reason)) = step else { return XCTFail("got \(step)") }
        XCTAssertNotEqual(reason, PasswordCheck.failureReason)
        XCTAssertTrue(reason.contains("alice@Example.COM has only a stored DIGEST-MD5 hash"), reason)
        XCTAssertTrue(reason.contains(#"username "alice@Example.COM" and realm "example.org""#), reason)
        XCTAssertTrue(
            reason.contains(#"set the client's login name to "alice" and its realm to "Example.COM""#),
            reason
        )
        XCTAssertFalse(reason.contains("secret"), reason)
        // The documented client setting works: login name without @ and the record's realm.
        XCTAssertEqual(
            exchange(client("alice", realm: "Example.COM", password: "secret").message(), fixture.context),
            .success(AuthenticatedIdentity(user: user("alice", "Example.COM")))
        )
    }

    func testAnotherRealmThanOfferedIsAppendedToTheUsernameAsInCyrus() throws {
        let fixture = try MechanismFixture(users: [("dora@Other.ORG", "secret", .cyrusDefault)])
        XCTAssertEqual(
            exchange(client("dora", realm: "Other.ORG", password: "secret").message(), fixture.context),
            .success(AuthenticatedIdentity(user: user("dora", "Other.ORG")))
        )
        // "dora@Other.ORG" with realm "Other.ORG" becomes dora@Other.ORG@Other.ORG: authid dora, realm
        // "Other.ORG@Other.ORG", an unknown user, exactly as Cyrus maps it.
        XCTAssertEqual(
            answer(client("dora@Other.ORG", realm: "Other.ORG", password: "secret").message(), fixture.context),
            authFailed
        )
        // An empty realm that was not offered adds nothing: the name maps as usual.
        let plain = try MechanismFixture(users: [("erin", "secret", .cyrusDefault)])
        XCTAssertEqual(
            exchange(client("erin", realm: "", password: "secret").message(), plain.context),
            .success(AuthenticatedIdentity(user: user("erin", realm)))
        )
    }

    func testMissingRealmWhenOneWasOfferedIsRefused() throws {
        let fixture = try standardFixture()
        assertMalformed(
            answer(client("alice", realm: nil, password: "secret").message(), fixture.context),
            mentioning: "no realm"
        )
    }

    // MARK: Failures that must look alike

    func testUnknownDisabledWrongAndUnusableAllGiveTheSameFailure() throws {
        let fixture = try MechanismFixture(users: [
            ("alice", "secret", .cyrusDefault), ("henry", "secret", hashOnly), ("dan", "secret", .cyrusDefault),
            ("sam", "secret", SecretPolicy(plaintext: false, scram: .sha256, scramIterations: 64)),
        ])
        try fixture.disable("dan")
        let steps = [
            answer(client("alice", realm: realm, password: "wrong").message(), fixture.context),
            answer(client("henry", realm: realm, password: "wrong").message(), fixture.context),
            answer(client("nobody", realm: realm, password: "secret").message(), fixture.context),
            answer(client("dan", realm: realm, password: "secret").message(), fixture.context),
            answer(client("sam", realm: realm, password: "secret").message(), fixture.context),
        ]
        XCTAssertEqual(steps, Array(repeating: authFailed, count: steps.count))
    }

    func testDummyPasswordNeverAuthenticatesAnUnknownUser() throws {
        // The work done for an unknown user uses a fixed dummy password; its match must be discarded.
        let fixture = try standardFixture()
        let c = client("nobody", realm: realm, password: "dummy password for unknown users")
        XCTAssertEqual(answer(c.message(), fixture.context), authFailed)
    }

    func testUnreadableStoreIsTemporary() {
        let context = SASLServerContext(lookup: UnreadableCredentialLookup(), hostName: host, defaultRealm: realm)
        guard case .failure(.temporary) = answer(client("alice", realm: realm, password: "secret").message(), context)
        else {
            return XCTFail("expected a temporary failure")
        }
    }

    // MARK: Protocol checks

    func testInitialResponseIsAProtocolError() throws {
        let context = try standardFixture().context
        for initial in [[UInt8](), Array(client("alice", realm: realm, password: "secret").message())] {
            var mechanism = DigestMD5Mechanism(context: context)
            assertMalformed(mechanism.step(initial), mentioning: "no initial response")
            assertMalformed(mechanism.step(nil), mentioning: "already over")
        }
    }

    func testNonceMismatch() throws {
        let fixture = try standardFixture()
        var c = client("alice", realm: realm, password: "secret")
        c.nonce = "OA6MG9tEQGm2hh"
        assertMalformed(answer(c.message(), fixture.context), mentioning: "nonce is not the one")
    }

    func testNonceCountMustBeOne() throws {
        let fixture = try standardFixture()
        for nc in ["00000002", "1", "000000001", "0000000g", "FFFFFFFF"] {
            var c = client("alice", realm: realm, password: "secret")
            c.nc = nc
            assertMalformed(answer(c.message(), fixture.context), mentioning: "is not 00000001")
        }
    }

    func testDigestURIChecks() throws {
        let fixture = try standardFixture()
        let expectations: [(String, String)] = [
            ("imap/\(host)", "is not for the service 'smtp'"),
            ("smtp/other.example.org", "names another host than \(host)"),
            ("smtp", "is not <service>/<host>"),
            ("smtp/", "is not <service>/<host>"),
            ("smtp/\(host)/a/b", "is not <service>/<host>"),
        ]
        for (uri, fragment) in expectations {
            var c = client("alice", realm: realm, password: "secret")
            c.digestURI = uri
            assertMalformed(answer(c.message(), fixture.context), mentioning: fragment)
        }
        // Case-insensitive service and host, and an optional serv-name, are accepted.
        for uri in ["SMTP/MAIL.Example.ORG", "smtp/\(host)/example.org"] {
            var c = client("alice", realm: realm, password: "secret")
            c.digestURI = uri
            XCTAssertEqual(answer(c.message(), fixture.context), .challenge(c.rspauth), uri)
        }
    }

    func testDigestURIHostIsConfigurable() throws {
        let fixture = try standardFixture()
        var c = client("alice", realm: realm, password: "secret")
        c.digestURI = "smtp/192.0.2.25"
        assertMalformed(answer(c.message(), fixture.context), mentioning: "names another host")
        XCTAssertEqual(
            answer(c.message(), fixture.context, hosts: .hostName(alsoAccepting: ["smtp.example.org", "192.0.2.25"])),
            .challenge(c.rspauth)
        )
        XCTAssertEqual(answer(c.message(), fixture.context, hosts: .any), .challenge(c.rspauth))
        c.digestURI = "imap/192.0.2.25"
        assertMalformed(answer(c.message(), fixture.context, hosts: .any), mentioning: "not for the service")
        // The service is the context's.
        var imap = fixture.context
        imap.service = "imap"
        XCTAssertEqual(answer(c.message(), imap, hosts: .any), .challenge(c.rspauth))
    }

    func testOnlyQopAuthIsAccepted() throws {
        let fixture = try standardFixture()
        for qop in ["auth-int", "auth-conf", "\"auth-int\""] {
            var c = client("alice", realm: realm, password: "secret")
            c.qop = qop
            assertMalformed(answer(c.message(extra: "cipher=rc4"), fixture.context), mentioning: "only qop=auth")
        }
        // Absent qop means auth (RFC 2831), and the value is matched case-insensitively.
        var absent = client("alice", realm: realm, password: "secret")
        absent.qop = nil
        XCTAssertEqual(answer(absent.message(), fixture.context), .challenge(absent.rspauth))
        var upper = client("alice", realm: realm, password: "secret")
        upper.qop = "AUTH"
        XCTAssertEqual(answer(upper.message(), fixture.context), .challenge(upper.rspauth))
    }

    func testCharsetMustBeUTF8() throws {
        let fixture = try standardFixture()
        var c = client("alice", realm: realm, password: "secret")
        c.charset = "iso-8859-1"
        assertMalformed(answer(c.message(), fixture.context), mentioning: "is not utf-8")
        c.charset = "UTF-8"
        XCTAssertEqual(answer(c.message(), fixture.context), .challenge(c.rspauth))
    }

    func testMissingDirectives() throws {
        let fixture = try standardFixture()
        let full = String(decoding: client("alice", realm: realm, password: "secret").message(), as: UTF8.self)
        for name in ["username", "nonce", "cnonce", "nc", "digest-uri", "response"] {
            let kept = full.split(separator: ",").filter { !$0.hasPrefix("\(name)=") }.joined(separator: ",")
            assertMalformed(answer(kept, fixture.context), mentioning: "has no \(name) directive")
        }
    }

    func testBadResponseHex() throws {
        let fixture = try standardFixture()
        let c = client("alice", realm: realm, password: "secret")
        let good = c.digest(a2Prefix: "AUTHENTICATE")
        for bad in ["g" + good.dropFirst(), String(good.dropLast()), good + "0", good.uppercased(), "\"\(good)\"x", ""]
        {
            let step = answer(c.message(response: bad), fixture.context)
            guard case .failure(.malformed) = step else { return XCTFail("\(bad): got \(step)") }
        }
        // The quoted form of a valid digest is accepted (Cyrus does too).
        XCTAssertEqual(answer(c.message(response: "\"\(good)\""), fixture.context), .challenge(c.rspauth))
    }

    func testDuplicatedDirectivesAreRejected() throws {
        let fixture = try standardFixture()
        let c = client("alice", realm: realm, password: "secret")
        for extra in ["username=\"mallory\"", "realm=\"\(realm)\"", "nonce=\"\(nonce)\"", "qop=auth", "authzid=\"a\""] {
            var message = c.message(extra: extra)
            if extra.hasPrefix("authzid") { message += Array(",authzid=\"b\"".utf8) }
            assertMalformed(answer(message, fixture.context), mentioning: "appears more than once")
        }
    }

    func testUnknownDirectivesAreIgnored() throws {
        let fixture = try standardFixture()
        let c = client("alice", realm: realm, password: "secret")
        let step = answer(c.message(extra: "algorithm=md5-sess,future=\"x\",future=y"), fixture.context)
        XCTAssertEqual(step, .challenge(c.rspauth))
    }

    func testMaxbufIsValidated() throws {
        let fixture = try standardFixture()
        let c = client("alice", realm: realm, password: "secret")
        XCTAssertEqual(answer(c.message(extra: "maxbuf=65536"), fixture.context), .challenge(c.rspauth))
        for bad in ["16", "16777216", "abc", "099999999999"] {
            assertMalformed(answer(c.message(extra: "maxbuf=\(bad)"), fixture.context), mentioning: "maxbuf")
        }
    }

    func testHugeValuesAreBounded() throws {
        let fixture = try standardFixture()
        let c = client("alice", realm: realm, password: "secret")
        XCTAssertEqual(
            answer(c.message(extra: "x=\"\(String(repeating: "a", count: 5000))\""), fixture.context),
            .failure(.tooLong(limit: 4095))
        )
        XCTAssertEqual(
            answer([UInt8](repeating: 0x61, count: 1 << 20), fixture.context),
            .failure(.tooLong(limit: 4095))
        )

        let longName = client(String(repeating: "u", count: 256), realm: realm, password: "secret")
        assertMalformed(answer(longName.message(), fixture.context), mentioning: "username is longer than 255 bytes")
        let longRealm = client("alice", realm: String(repeating: "r", count: 256), password: "secret")
        assertMalformed(answer(longRealm.message(), fixture.context), mentioning: "realm is longer than 255 bytes")
        var longCNonce = c
        longCNonce.cnonce = String(repeating: "c", count: 257)
        assertMalformed(answer(longCNonce.message(), fixture.context), mentioning: "cnonce must be 1 to 256 bytes")
        var longAuthzid = c
        longAuthzid.authzid = String(repeating: "z", count: 256)
        assertMalformed(answer(longAuthzid.message(), fixture.context), mentioning: "authzid is longer than 255 bytes")
        let tooMany = (0..<40).map { "x\($0)=1" }.joined(separator: ",")
        assertMalformed(answer(c.message(extra: tooMany), fixture.context), mentioning: "more than 32 directives")
    }

    func testInvalidUTF8UsernameWithCharset() throws {
        let fixture = try standardFixture()
        var c = client("x", realm: realm, password: "secret")
        c.username = [0x61, 0xff, 0x62]
        assertMalformed(answer(c.message(), fixture.context), mentioning: "username is not valid UTF-8")
        c.username = [0x61, 0xc3]
        assertMalformed(answer(c.message(), fixture.context), mentioning: "username is not valid UTF-8")
        // Without charset the same bytes are ISO-8859-1, hence a valid (unknown) name.
        c.charset = nil
        XCTAssertEqual(answer(c.message(), fixture.context), authFailed)
        // The authzid is UTF-8 whatever the charset.
        var z = client("alice", realm: realm, password: "secret")
        z.charset = nil
        var message = z.message()
        message += Array(",authzid=\"".utf8) + [0xff] + Array("\"".utf8)
        assertMalformed(answer(message, fixture.context), mentioning: "authzid is not valid UTF-8")
    }

    func testMalformedMessagesFailCleanly() throws {
        let fixture = try standardFixture()
        let cases: [[UInt8]] = [
            Array("username=\"alice".utf8),
            Array("username=\"alice\",realm=".utf8),
            Array("username".utf8),
            Array(",,,".utf8),
            Array("username=\"a\"\0".utf8),
            [0xff, 0xfe],
            Array("username=\"\",nonce=\"\(nonce)\"".utf8),
        ]
        for input in cases {
            let step = answer(input, fixture.context)
            guard case .failure(.malformed) = step else { return XCTFail("\(input): got \(step)") }
        }
        assertMalformed(answer([], fixture.context), mentioning: "digest-response is empty")
        var mechanism = start(fixture.context)
        assertMalformed(mechanism.step(nil), mentioning: "expected a DIGEST-MD5 digest-response")
    }

    func testRandomMutationsNeverCrash() throws {
        let fixture = try standardFixture()
        let base = client("alice", realm: realm, password: "secret").message()
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            var message = base
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let index = Int.random(in: 0..<message.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: message[index] = UInt8.random(in: 0...255, using: &generator)
                case 1: message.remove(at: index)
                default: message.insert(Array(",\"\\= ".utf8).randomElement(using: &generator) ?? 0, at: index)
                }
            }
            _ = exchange(message, fixture.context)
        }
    }

    func testFinalResponseMustBeEmpty() throws {
        let fixture = try standardFixture()
        let c = client("alice", realm: realm, password: "secret")
        var mechanism = start(fixture.context)
        XCTAssertEqual(mechanism.step(c.message()), .challenge(c.rspauth))
        assertMalformed(mechanism.step(Array("x".utf8)), mentioning: "expected an empty response after rspauth")
        assertMalformed(mechanism.step([]), mentioning: "already over")

        var missing = start(fixture.context)
        _ = missing.step(c.message())
        assertMalformed(missing.step(nil), mentioning: "expected an empty response")
    }

    // MARK: Authorization identity

    func testAuthzidIsHashedAndAuthorized() throws {
        let fixture = try MechanismFixture(
            users: [("alice", "secret", .cyrusDefault)],
            authorize: { user, name in user.authid == Array("alice".utf8) && name == "postmaster" }
        )
        var own = client("alice", realm: realm, password: "secret")
        own.authzid = "alice"
        XCTAssertEqual(
            exchange(own.message(), fixture.context),
            .success(AuthenticatedIdentity(user: user("alice", realm)))
        )

        var other = client("alice", realm: realm, password: "secret")
        other.authzid = "postmaster"
        XCTAssertEqual(
            exchange(other.message(), fixture.context),
            .success(AuthenticatedIdentity(user: user("alice", realm), authorizationID: "postmaster"))
        )

        var denied = client("alice", realm: realm, password: "secret")
        denied.authzid = "root"
        guard case .failure(.authorizationDenied) = answer(denied.message(), fixture.context) else {
            return XCTFail("expected authorizationDenied")
        }

        // The authzid is part of A1: a digest computed without it does not match.
        var unhashed = other
        unhashed.authzid = nil
        let message = other.message(response: unhashed.digest(a2Prefix: "AUTHENTICATE"))
        XCTAssertEqual(answer(message, fixture.context), authFailed)

        // An empty authzid is hashed (as Cyrus does) and means no authorization identity.
        var empty = client("alice", realm: realm, password: "secret")
        empty.authzid = ""
        XCTAssertEqual(
            exchange(empty.message(), fixture.context),
            .success(AuthenticatedIdentity(user: user("alice", realm)))
        )
    }

    // MARK: Real clients

    /// Responses captured from real clients (GNU SASL 2.2.0, Perl Authen::SASL 2.16, Debian 12) to this challenge:
    /// `realm="example.org",nonce="3kOm1jyWq3Ch0KLJ1Y1T7CiYb0sX6yLsHb8h7WQv",qop="auth",charset=utf-8,
    /// algorithm=md5-sess`, service smtp, host mail.example.org, password `pässwörd` unless noted.
    func testResponsesOfRealClients() throws {
        let alice = user("alice", realm)
        let cases: [(label: String, password: String, response: String, identity: AuthenticatedIdentity)] = [
            (
                "gsasl -a alice",
                "pässwörd",
                #"username="alice", realm="example.org", nonce="3kOm1jyWq3Ch0KLJ1Y1T7CiYb0sX6yLsHb8h7WQv", cnonce="taEY2uZJ7pNn4BBIhnYZww==", nc=00000001, qop=auth, digest-uri="smtp/mail.example.org", response=276073fc84522f8748fc947222e161d8, charset=utf-8"#,
                AuthenticatedIdentity(user: alice)
            ),
            (
                "gsasl -a alice@example.org",
                "pässwörd",
                #"username="alice@example.org", realm="example.org", nonce="3kOm1jyWq3Ch0KLJ1Y1T7CiYb0sX6yLsHb8h7WQv", cnonce="O7IfNO5ZSfnu1U87pKFvJQ==", nc=00000001, qop=auth, digest-uri="smtp/mail.example.org", response=cc97498d8105df5474010557c3e416cf, charset=utf-8"#,
                AuthenticatedIdentity(user: alice)
            ),
            (
                "gsasl -a alice -z bob",
                "pässwörd",
                #"username="alice", realm="example.org", nonce="3kOm1jyWq3Ch0KLJ1Y1T7CiYb0sX6yLsHb8h7WQv", cnonce="oeDEpaIOGsWa7PXpuXiPEA==", nc=00000001, qop=auth, digest-uri="smtp/mail.example.org", response=1cbce3d1fcbe74da219f236d9f88d27d, charset=utf-8, authzid="bob""#,
                AuthenticatedIdentity(user: alice, authorizationID: "bob")
            ),
            (
                "gsasl -a jörg",
                "pässwörd",
                #"username="jörg", realm="example.org", nonce="3kOm1jyWq3Ch0KLJ1Y1T7CiYb0sX6yLsHb8h7WQv", cnonce="nfYlMf32L+zny3os3hNhBQ==", nc=00000001, qop=auth, digest-uri="smtp/mail.example.org", response=db1d7ed90d413fb92a60a113ab54ff42, charset=utf-8"#,
                AuthenticatedIdentity(user: user("jörg", realm))
            ),
            (
                "gsasl -a alice -r Other.ORG",
                "pässwörd",
                #"username="alice", realm="Other.ORG", nonce="3kOm1jyWq3Ch0KLJ1Y1T7CiYb0sX6yLsHb8h7WQv", cnonce="jHyR8ErbT/0wzpKs4iJ8EA==", nc=00000001, qop=auth, digest-uri="smtp/mail.example.org", response=e34f265fda01eb92581a66b986494b88, charset=utf-8"#,
                AuthenticatedIdentity(user: user("alice", "Other.ORG"))
            ),
            (
                "perl alice (hashes the raw UTF-8 password)",
                "pässwörd",
                #"charset=utf-8,cnonce="fe43639944bc237400b5ddb1270966c9",digest-uri="smtp/mail.example.org",nc=00000001,nonce="3kOm1jyWq3Ch0KLJ1Y1T7CiYb0sX6yLsHb8h7WQv",qop=auth,realm="example.org",response=e04d7bb3639f4a3c095619b5a152f75a,username="alice""#,
                AuthenticatedIdentity(user: alice)
            ),
            (
                "perl alice@example.org",
                "pässwörd",
                #"charset=utf-8,cnonce="d97d8caef99831759cfb9fa9c749c46c",digest-uri="smtp/mail.example.org",nc=00000001,nonce="3kOm1jyWq3Ch0KLJ1Y1T7CiYb0sX6yLsHb8h7WQv",qop=auth,realm="example.org",response=0989067d1c3d5d7969388e372893aebd,username="alice@example.org""#,
                AuthenticatedIdentity(user: alice)
            ),
            (
                "perl alice, authzid bob",
                "secret",
                #"authzid="bob",charset=utf-8,cnonce="67f62d041cf71383824b1993ef05d211",digest-uri="smtp/mail.example.org",nc=00000001,nonce="3kOm1jyWq3Ch0KLJ1Y1T7CiYb0sX6yLsHb8h7WQv",qop=auth,realm="example.org",response=f2839e6ed4c1425630e9f99ce15c2245,username="alice""#,
                AuthenticatedIdentity(user: alice, authorizationID: "bob")
            ),
        ]
        // Which of them a stored hash alone verifies: those whose username has no @ and whose client hashes what the
        // stored hash holds (GNU SASL keeps a non-ASCII username in UTF-8; Perl converts nothing, which only matters
        // for a non-ASCII password).
        let verifiableFromHash: Set<String> = [
            "gsasl -a alice", "gsasl -a alice -z bob", "gsasl -a alice -r Other.ORG", "perl alice, authzid bob",
        ]
        for (label, password, response, identity) in cases {
            for policy in [SecretPolicy.cyrusDefault, hashOnly] {
                let fixture = try MechanismFixture(
                    users: [
                        ("alice", password, policy), ("alice@Other.ORG", password, policy), ("jörg", password, policy),
                    ],
                    authorize: { _, name in name == "bob" }
                )
                let step = exchange(response, fixture.context)
                if policy.plaintext || verifiableFromHash.contains(label) {
                    XCTAssertEqual(step, .success(identity), "\(label), \(policy)")
                } else {
                    guard case .failure(.authenticationFailed) = step else { return XCTFail("\(label): got \(step)") }
                }
            }
        }
    }

    /// Exchanges of Debian's Cyrus `sasl-sample-client` (2.1.28) with this mechanism, host `localhost`; the client
    /// checked each `rspauth` and sent the final empty response. It never sends `charset`, sends UTF-8 names anyway,
    /// and hashes them converted to ISO-8859-1.
    func testExchangesOfCyrusClient() throws {
        let cases:
            [(
                label: String, offered: String?, nonce: String, password: String, response: String, rspauth: String,
                user: UserID
            )] = [
                (
                    "alice@Example.COM, offered realm localhost",
                    nil,
                    "gzSMLR2NiwOj1d8evHydpalUUKuvJm0BB2mEE0W9",
                    "secret",
                    #"username="alice@Example.COM",realm="localhost",nonce="gzSMLR2NiwOj1d8evHydpalUUKuvJm0BB2mEE0W9",cnonce="Pg8W5ZP0Z0/V3kfviHkz3Nvlx24+8A3ObVvQNEFiM3w=",nc=00000001,qop=auth,maxbuf=2048,digest-uri="smtp/localhost",response=68d9df12a9d4c9dcbe1aa5c12e8d8087"#,
                    "0f6098663b50348a05b8118bdd880c8c",
                    user("alice", "Example.COM")
                ),
                (
                    "alice@Example.COM, offered realm Example.COM",
                    "Example.COM",
                    "WH3xauBzhVxzoK7276CKl+S5ELIoGzEmW5WWp/Yg",
                    "secret",
                    #"username="alice@Example.COM",realm="Example.COM",nonce="WH3xauBzhVxzoK7276CKl+S5ELIoGzEmW5WWp/Yg",cnonce="38HHWMhEMeKsw2L3P6W8qHsaX5mbF5d+po8vr4G5w18=",nc=00000001,qop=auth,maxbuf=2048,digest-uri="smtp/localhost",response=b70f77768f370655d3e35065edd37439"#,
                    "b41c79071fbecdd3a089d8495549b5b8",
                    user("alice", "Example.COM")
                ),
                (
                    "jörg, password pässwörd, offered realm Example.COM",
                    "Example.COM",
                    "uEyR2dFTcQup2q1Msp6FMwwEsy+93NfhTm5nRiLo",
                    "pässwörd",
                    #"username="jörg",realm="Example.COM",nonce="uEyR2dFTcQup2q1Msp6FMwwEsy+93NfhTm5nRiLo",cnonce="PDu4FtLYEg473s2cFFSgrjQgJz0/eS7/C+iRMq/jxO0=",nc=00000001,qop=auth,maxbuf=2048,digest-uri="smtp/localhost",response=42ab3922ea54d87acb7334c0fa658955"#,
                    "4d06ef73e28718a74e47adaff932523e",
                    user("jörg", "Example.COM")
                ),
            ]
        for (label, offered, nonce, password, response, rspauth, expectedUser) in cases {
            for policy in [SecretPolicy.cyrusDefault, hashOnly] {
                let fixture = try MechanismFixture(
                    users: [("alice@Example.COM", password, policy), ("jörg@Example.COM", password, policy)],
                    hostName: "localhost",
                    defaultRealm: offered ?? "localhost"
                )
                var mechanism = DigestMD5Mechanism(context: fixture.context, nonce: nonce)
                _ = mechanism.step(nil)
                let step = mechanism.step(Array(response.utf8))
                // Only the name without @ can be checked from the stored hash, as with Cyrus's own server.
                if policy.plaintext || !label.contains("@") {
                    XCTAssertEqual(step, .challenge(Array("rspauth=\(rspauth)".utf8)), "\(label), \(policy)")
                    XCTAssertEqual(mechanism.step([]), .success(AuthenticatedIdentity(user: expectedUser)), label)
                } else {
                    guard case .failure(.authenticationFailed(let reason)) = step, reason.contains("only a stored")
                    else {
                        return XCTFail("\(label), \(policy): got \(step)")
                    }
                }
            }
        }
    }
}
