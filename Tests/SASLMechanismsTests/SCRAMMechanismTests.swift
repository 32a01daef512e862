import SASLDB
import XCTest

@testable import SASLMechanisms

/// A SCRAM client, enough to drive the server through every path.
private struct SCRAMTestClient {
    var hash: SCRAMHash
    var password: String
    var user = "user"
    var gs2Header = "n,,"
    var bindingData: [UInt8] = []
    var clientNonce = "rOprNGfwEbeRWgbNEkqO"

    var clientFirstBare: String { "n=\(user),r=\(clientNonce)" }
    var clientFirst: [UInt8] { Array((gs2Header + clientFirstBare).utf8) }

    /// The client-final message for `serverFirst` and the server-final message the server must answer with.
    func final(
        for serverFirst: [UInt8],
        extensions: String = "",
        passwordBytes: [UInt8]? = nil
    ) throws -> (message: [UInt8], serverFinal: [UInt8]) {
        var fields: [Character: Substring] = [:]
        for field in String(decoding: serverFirst, as: UTF8.self).split(separator: ",") {
            fields[try XCTUnwrap(field.first)] = field.dropFirst(2)
        }
        let nonce = try XCTUnwrap(fields["r"])
        let salt = try XCTUnwrap(Base64.decode(try XCTUnwrap(fields["s"])))
        let iterations = try XCTUnwrap(Int(try XCTUnwrap(fields["i"])))
        let binding = Base64.encode(Array(gs2Header.utf8) + bindingData)
        let withoutProof = "c=\(binding),r=\(nonce)\(extensions)"
        let authMessage = Array(clientFirstBare.utf8) + [44] + serverFirst + [44] + Array(withoutProof.utf8)
        let salted = hash.saltedPassword(
            password: passwordBytes ?? Array(password.utf8),
            salt: salt,
            iterations: iterations
        )
        let clientKey = hash.clientKey(saltedPassword: salted)
        let signature = hash.hmac(key: hash.storedKey(clientKey: clientKey), authMessage)
        let proof = zip(clientKey, signature).map { $0 ^ $1 }
        let serverSignature = hash.hmac(key: hash.serverKey(saltedPassword: salted), authMessage)
        return (
            Array("\(withoutProof),p=\(Base64.encode(proof))".utf8),
            Array("v=\(Base64.encode(serverSignature))".utf8)
        )
    }
}

final class SCRAMMechanismTests: XCTestCase {
    private let user = UserID(authid: Array("user".utf8), realm: Array(MechanismFixture.defaultRealm.utf8))
    private let rejected = SASLStep.failure(.authenticationFailed(reason: SCRAMServerExchange.credentialsRejected))
    private let cheap = testSCRAMIterations

    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    private func challenge(_ step: SASLStep) throws -> [UInt8] {
        guard case .challenge(let data) = step else {
            XCTFail("expected a challenge, got \(step)")
            throw XCTSkip("no challenge")
        }
        return data
    }

    private func isMalformed(_ step: SASLStep) -> Bool {
        if case .failure(.malformed) = step { return true }
        return false
    }

    private func exchange(
        _ hash: SCRAMHash,
        _ context: SASLServerContext,
        plus: Bool = false,
        iterations: Int = testSCRAMIterations,
        bindings: [SCRAMChannelBinding] = [],
        serverNonce: String? = nil,
        derivedSalt: [UInt8]? = nil
    ) -> SCRAMServerExchange {
        SCRAMServerExchange(
            hash: hash,
            usesChannelBinding: plus,
            context: context,
            iterations: iterations,
            channelBindings: bindings,
            serverNonce: serverNonce,
            derivedSalt: derivedSalt
        )
    }

    /// A store with `user`/`pencil` as a verifier only (hash, salt and count given) or as plaintext (`verifier` nil).
    private func pencilFixture(verifier: (SCRAMHash, [UInt8], Int)? = nil) throws -> MechanismFixture {
        let fixture = try MechanismFixture()
        if let (hash, salt, iterations) = verifier {
            let stored = try SCRAMVerifier(hash: hash, password: bytes("pencil"), salt: salt, iterations: iterations)
            try fixture.putRecords([.authPassword: stored.bytes], for: "user")
        } else {
            try fixture.setPassword("pencil", for: "user")
        }
        return fixture
    }

    /// Runs a full exchange with `client`; returns the step that answers the client-final message.
    private func runToFinal(
        _ mechanism: inout SCRAMServerExchange,
        _ client: SCRAMTestClient,
        extensions: String = ""
    ) throws -> (step: SASLStep, expected: [UInt8]) {
        let serverFirst = try challenge(mechanism.step(client.clientFirst))
        let final = try client.final(for: serverFirst, extensions: extensions)
        return (mechanism.step(final.message), final.serverFinal)
    }

    // MARK: - RFC examples

    private let rfc5802Salt = Base64.decode("QSXCR+Q6sek8bf92") ?? []
    private let rfc7677Salt = Base64.decode("W22ZaJ0SNY7soEsUEjb6gQ==") ?? []

    private func runRFC5802(_ context: SASLServerContext, derivedSalt: [UInt8]? = nil) throws {
        var mechanism = SCRAMSHA1Mechanism(
            exchange: exchange(
                .sha1,
                context,
                iterations: 4096,
                serverNonce: "3rfcNHYJY1ZVvWVs7j",
                derivedSalt: derivedSalt
            )
        )
        XCTAssertEqual(
            mechanism.step(bytes("n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL")),
            .challenge(bytes("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"))
        )
        XCTAssertEqual(
            mechanism.step(
                bytes("c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=")
            ),
            .challenge(bytes("v=rmF9pqV8S7suAoZWja4dJRkFsKQ="))
        )
        XCTAssertEqual(mechanism.step([]), .success(AuthenticatedIdentity(user: user)))
    }

    private func runRFC7677(_ context: SASLServerContext, derivedSalt: [UInt8]? = nil) throws {
        var mechanism = SCRAMSHA256Mechanism(
            exchange: exchange(
                .sha256,
                context,
                iterations: 4096,
                serverNonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
                derivedSalt: derivedSalt
            )
        )
        XCTAssertEqual(
            mechanism.step(bytes("n,,n=user,r=rOprNGfwEbeRWgbNEkqO")),
            .challenge(
                bytes("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
            )
        )
        XCTAssertEqual(
            mechanism.step(
                bytes(
                    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                        + "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
                )
            ),
            .challenge(bytes("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="))
        )
        XCTAssertEqual(mechanism.step(nil), .success(AuthenticatedIdentity(user: user)))
    }

    func testRFC5802ExampleFromStoredVerifier() throws {
        try runRFC5802(pencilFixture(verifier: (.sha1, rfc5802Salt, 4096)).context)
    }

    func testRFC5802ExampleFromPlaintext() throws {
        try runRFC5802(pencilFixture().context, derivedSalt: rfc5802Salt)
    }

    func testRFC7677ExampleFromStoredVerifier() throws {
        try runRFC7677(pencilFixture(verifier: (.sha256, rfc7677Salt, 4096)).context)
    }

    func testRFC7677ExampleFromPlaintext() throws {
        try runRFC7677(pencilFixture().context, derivedSalt: rfc7677Salt)
    }

    func testNames() {
        XCTAssertEqual(SCRAMSHA1Mechanism.name, "SCRAM-SHA-1")
        XCTAssertEqual(SCRAMSHA256Mechanism.name, "SCRAM-SHA-256")
        XCTAssertEqual(SCRAMSHA1PlusMechanism.name, "SCRAM-SHA-1-PLUS")
        XCTAssertEqual(SCRAMSHA256PlusMechanism.name, "SCRAM-SHA-256-PLUS")
        XCTAssertEqual(SCRAMSHA256Mechanism.maximumMessageLength, 4096)
    }

    // MARK: - Full exchanges through the public initialiser

    func testPublicInitialiserWithPlaintextAndRandomNonce() throws {
        let context = try pencilFixture().context
        for hash in SCRAMHash.allCases {
            let client = SCRAMTestClient(hash: hash, password: "pencil")
            var step: SASLStep
            var expected: [UInt8]
            var first: [UInt8]
            if hash == .sha1 {
                var mechanism = SCRAMSHA1Mechanism(context: context, iterations: cheap)
                first = try challenge(mechanism.step(client.clientFirst))
                let final = try client.final(for: first)
                step = mechanism.step(final.message)
                expected = final.serverFinal
                XCTAssertEqual(step, .challenge(expected))
                XCTAssertEqual(mechanism.step([]), .success(AuthenticatedIdentity(user: user)))
            } else {
                var mechanism = SCRAMSHA256Mechanism(context: context, iterations: cheap)
                first = try challenge(mechanism.step(client.clientFirst))
                let final = try client.final(for: first)
                step = mechanism.step(final.message)
                expected = final.serverFinal
                XCTAssertEqual(step, .challenge(expected))
                XCTAssertEqual(mechanism.step([]), .success(AuthenticatedIdentity(user: user)))
            }
            // The nonce is the client's followed by 24 base64 characters of the server's.
            let text = String(decoding: first, as: UTF8.self)
            let nonce = try XCTUnwrap(text.split(separator: ",").first).dropFirst(2)
            XCTAssertTrue(nonce.hasPrefix(client.clientNonce))
            XCTAssertEqual(nonce.count, client.clientNonce.count + 24)
            XCTAssertTrue(text.hasSuffix(",i=\(cheap)"))
        }
    }

    func testNoInitialResponseAndEmptyInitialResponseAskForClientFirst() throws {
        let context = try pencilFixture().context
        for initial in [nil, [UInt8]()] {
            var mechanism = exchange(.sha256, context)
            XCTAssertEqual(mechanism.step(initial), .challenge([]))
            let result = try runToFinal(&mechanism, SCRAMTestClient(hash: .sha256, password: "pencil"))
            XCTAssertEqual(result.step, .challenge(result.expected))
            XCTAssertEqual(mechanism.step(nil), .success(AuthenticatedIdentity(user: user)))
        }
        var mechanism = exchange(.sha256, context)
        XCTAssertEqual(mechanism.step(nil), .challenge([]))
        XCTAssertTrue(isMalformed(mechanism.step([])), "a second empty message is not a client-first message")
    }

    func testStoredVerifierOnly() throws {
        let fixture = try MechanismFixture(users: [("user", "pencil", verifiersOnlyTestPolicy)])
        var mechanism = exchange(.sha256, fixture.context)
        let result = try runToFinal(&mechanism, SCRAMTestClient(hash: .sha256, password: "pencil"))
        XCTAssertEqual(result.step, .challenge(result.expected))
        XCTAssertEqual(mechanism.step([]), .success(AuthenticatedIdentity(user: user)))

        var wrong = exchange(.sha256, fixture.context)
        XCTAssertEqual(try runToFinal(&wrong, SCRAMTestClient(hash: .sha256, password: "pencil2")).step, rejected)
    }

    func testPlaintextWinsOverStoredVerifier() throws {
        // userPassword "pencil" next to a verifier of another password: Cyrus uses only the plaintext.
        let fixture = try pencilFixture()
        let other = try SCRAMVerifier(hash: .sha256, password: bytes("other"), iterations: cheap)
        try fixture.putRecords([.userPassword: bytes("pencil"), .authPassword: other.bytes], for: "user")
        var good = exchange(.sha256, fixture.context)
        let result = try runToFinal(&good, SCRAMTestClient(hash: .sha256, password: "pencil"))
        XCTAssertEqual(result.step, .challenge(result.expected))
        var bad = exchange(.sha256, fixture.context)
        XCTAssertEqual(try runToFinal(&bad, SCRAMTestClient(hash: .sha256, password: "other")).step, rejected)
    }

    func testVerifierOfTheOtherHashFails() throws {
        let fixture = try MechanismFixture(users: [("user", "pencil", verifiersOnlyTestPolicy)])
        var mechanism = exchange(.sha1, fixture.context)
        XCTAssertEqual(try runToFinal(&mechanism, SCRAMTestClient(hash: .sha1, password: "pencil")).step, rejected)
    }

    func testWrongPasswordFails() throws {
        var mechanism = exchange(.sha1, try pencilFixture().context)
        let result = try runToFinal(&mechanism, SCRAMTestClient(hash: .sha1, password: "pencil "))
        XCTAssertEqual(result.step, rejected)
        XCTAssertTrue(isMalformed(mechanism.step([])), "nothing follows a failure")
    }

    /// The stored password "I<SOFT HYPHEN>X" prepares to "IX" (the key a SCRAM client derives from either), but a
    /// login names its user byte for byte, as in every other mechanism: "Ⅸ", "I<SOFT HYPHEN>X" and a fullwidth "ＩX"
    /// are not "IX".
    func testSASLprepAppliesToThePasswordAndNotToTheUserName() throws {
        let fixture = try MechanismFixture()
        try fixture.setPassword("I\u{00AD}X", for: "IX")
        let expected = UserID(authid: bytes("IX"), realm: bytes(MechanismFixture.defaultRealm))
        var mechanism = exchange(.sha256, fixture.context)
        let client = SCRAMTestClient(hash: .sha256, password: "IX", user: "IX")
        let result = try runToFinal(&mechanism, client)
        XCTAssertEqual(result.step, .challenge(result.expected))
        XCTAssertEqual(mechanism.step([]), .success(AuthenticatedIdentity(user: expected)))
        for login in ["\u{2168}", "I\u{00AD}X", "\u{FF29}X"] {
            var other = exchange(.sha256, fixture.context)
            let alias = SCRAMTestClient(hash: .sha256, password: "IX", user: login)
            XCTAssertEqual(try runToFinal(&other, alias).step, rejected, login)
        }
    }

    func testStoredPasswordThatSASLprepRefusesIsUsedAsStored() throws {
        // Cyrus never prepares, so its clients send such a password as is.
        let fixture = try MechanismFixture()
        try fixture.setPassword("pass\u{0007}word", for: "user")
        var mechanism = exchange(.sha256, fixture.context)
        let result = try runToFinal(&mechanism, SCRAMTestClient(hash: .sha256, password: "pass\u{0007}word"))
        XCTAssertEqual(result.step, .challenge(result.expected))
    }

    func testEscapedUserNameAndAuthorizationIdentity() throws {
        let fixture = try MechanismFixture(
            authorize: { user, authzid in user.authid == Array("a,b=c".utf8) && authzid == "admin,x" }
        )
        try fixture.setPassword("pencil", for: "a,b=c")
        let expected = UserID(authid: bytes("a,b=c"), realm: bytes(MechanismFixture.defaultRealm))

        var mechanism = exchange(.sha256, fixture.context)
        var client = SCRAMTestClient(hash: .sha256, password: "pencil", user: "a=2Cb=3Dc")
        var result = try runToFinal(&mechanism, client)
        XCTAssertEqual(result.step, .challenge(result.expected))
        XCTAssertEqual(mechanism.step([]), .success(AuthenticatedIdentity(user: expected)))

        mechanism = exchange(.sha256, fixture.context)
        client.gs2Header = "n,a=admin=2Cx,"
        result = try runToFinal(&mechanism, client)
        XCTAssertEqual(result.step, .challenge(result.expected))
        XCTAssertEqual(mechanism.step([]), .success(AuthenticatedIdentity(user: expected, authorizationID: "admin,x")))

        mechanism = exchange(.sha256, fixture.context)
        client.gs2Header = "n,a=root,"
        result = try runToFinal(&mechanism, client)
        guard case .failure(.authorizationDenied) = result.step else {
            return XCTFail("expected authorizationDenied, got \(result.step)")
        }
    }

    func testUnreadableStoreIsTemporary() throws {
        let context = SASLServerContext(lookup: UnreadableCredentialLookup(), hostName: "mail.example.org")
        var mechanism = exchange(.sha256, context)
        guard case .failure(.temporary) = mechanism.step(bytes("n,,n=user,r=abc")) else {
            return XCTFail("expected a temporary failure")
        }
    }

    // MARK: - Unknown, disabled and wrong look alike

    func testUnknownDisabledAndWrongPasswordLookAlike() throws {
        let fixture = try MechanismFixture(users: [
            ("user", "pencil", .cyrusDefault), ("gone", "pencil", .cyrusDefault),
        ])
        try fixture.disable("gone")

        var shapes: [String: (saltLength: Int, iterations: String)] = [:]
        var outcomes: [String: SASLStep] = [:]
        for (login, password) in [("user", "wrong"), ("gone", "pencil"), ("nobody", "pencil")] {
            var mechanism = exchange(.sha256, fixture.context)
            let client = SCRAMTestClient(hash: .sha256, password: password, user: login)
            let first = try challenge(mechanism.step(client.clientFirst))
            let fields = String(decoding: first, as: UTF8.self).split(separator: ",")
            XCTAssertEqual(fields.map { $0.prefix(2) }, ["r=", "s=", "i="])
            let salt = try XCTUnwrap(Base64.decode(fields[1].dropFirst(2)))
            shapes[login] = (salt.count, String(fields[2]))
            outcomes[login] = mechanism.step(try client.final(for: first).message)
        }
        for login in ["user", "gone", "nobody"] {
            XCTAssertEqual(shapes[login]?.saltLength, SCRAMVerifier.saltLength, login)
            XCTAssertEqual(shapes[login]?.iterations, "i=\(cheap)", login)
            XCTAssertEqual(outcomes[login], rejected, login)
        }
    }

    /// The probe of issue "who exists": a name stored with a verifier at the configured count and a name not stored
    /// get first replies of the same shape (the count, a salt of the same length, stable for each name); a verifier of
    /// another count is the one thing that shows, which `sasldb check` reports.
    func testAStoredVerifierAndAnUnknownNameGetIndistinguishableFirstReplies() throws {
        var otherCount = verifiersOnlyTestPolicy
        otherCount.scramIterations = testSCRAMIterations * 2
        let fixture = try MechanismFixture(users: [
            ("stored", "pencil", verifiersOnlyTestPolicy), ("older", "pencil", otherCount),
        ])
        func firstReply(_ login: String) throws -> (salt: [UInt8], iterations: Substring) {
            var mechanism = exchange(.sha256, fixture.context)
            let first = try challenge(
                mechanism.step(SCRAMTestClient(hash: .sha256, password: "", user: login).clientFirst)
            )
            let fields = String(decoding: first, as: UTF8.self).split(separator: ",")
            XCTAssertEqual(fields.map { $0.prefix(2) }, ["r=", "s=", "i="], login)
            return (try XCTUnwrap(Base64.decode(fields[1].dropFirst(2))), fields[2])
        }
        let stored = try firstReply("stored")
        let unknown = try firstReply("nobody")
        XCTAssertEqual(stored.iterations, "i=\(testSCRAMIterations)")
        XCTAssertEqual(unknown.iterations, stored.iterations)
        XCTAssertEqual(unknown.salt.count, stored.salt.count)
        XCTAssertEqual(try firstReply("nobody").salt, unknown.salt, "an unknown name's salt is stable")
        XCTAssertEqual(try firstReply("stored").salt, stored.salt)
        XCTAssertEqual(try firstReply("older").iterations, "i=\(testSCRAMIterations * 2)", "what remains visible")
    }

    func testFakeKeysRefuseEvenTheDummyPassword() throws {
        let fixture = try MechanismFixture(users: [("user", "pencil", verifiersOnlyTestPolicy)])
        for login in ["nobody", "user"] {
            // "user" has only a SCRAM-SHA-256 verifier, so SCRAM-SHA-1 runs on fake keys for it too.
            var mechanism = exchange(.sha1, fixture.context)
            let client = SCRAMTestClient(hash: .sha1, password: "", user: login)
            let first = try challenge(mechanism.step(client.clientFirst))
            let final = try client.final(for: first, passwordBytes: SCRAMServerExchange.dummyPassword)
            XCTAssertEqual(mechanism.step(final.message), rejected, login)
        }
    }

    func testUnknownUserSaltIsStableAcrossAttempts() throws {
        let context = try pencilFixture().context
        func salt(_ login: String, _ hash: SCRAMHash) throws -> Substring {
            var mechanism = exchange(hash, context)
            let first = try challenge(
                mechanism.step(SCRAMTestClient(hash: hash, password: "", user: login).clientFirst)
            )
            return try XCTUnwrap(String(decoding: first, as: UTF8.self).split(separator: ",").dropFirst().first)
        }
        XCTAssertEqual(try salt("nobody", .sha256), try salt("nobody", .sha256))
        XCTAssertEqual(try salt("user", .sha256), try salt("user", .sha256))
        XCTAssertNotEqual(try salt("nobody", .sha256), try salt("nobody2", .sha256))
        XCTAssertNotEqual(try salt("nobody", .sha256), try salt("nobody", .sha1))
    }

    func testUnknownUserCostsAboutAsMuchAsAWrongPassword() throws {
        // A loose check that the dummy path really runs PBKDF2: only the server's steps are timed (the client's own
        // PBKDF2 is not), and the fastest of several runs of each must be within a factor of 4 of the other.
        let context = try pencilFixture().context
        let clock = ContinuousClock()
        func fastest(_ login: String) throws -> Duration {
            var best = Duration.seconds(1000)
            for _ in 0..<5 {
                var mechanism = exchange(.sha256, context, iterations: 20000)
                let client = SCRAMTestClient(hash: .sha256, password: "wrong", user: login)
                var start = clock.now
                let first = try challenge(mechanism.step(client.clientFirst))
                var elapsed = clock.now - start
                let final = try client.final(for: first)
                start = clock.now
                XCTAssertEqual(mechanism.step(final.message), rejected)
                elapsed += clock.now - start
                best = min(best, elapsed)
            }
            return best
        }
        let known = try fastest("user")
        let unknown = try fastest("nobody")
        XCTAssertLessThan(known, unknown * 4)
        XCTAssertLessThan(unknown, known * 4)
    }

    // MARK: - Channel binding

    func testYFlagIsAcceptedWhenNoPlusIsOffered() throws {
        var mechanism = exchange(.sha1, try pencilFixture().context)
        var client = SCRAMTestClient(hash: .sha1, password: "pencil")
        client.gs2Header = "y,,"
        let result = try runToFinal(&mechanism, client)
        XCTAssertEqual(result.step, .challenge(result.expected))
        XCTAssertEqual(mechanism.step([]), .success(AuthenticatedIdentity(user: user)))
    }

    func testYFlagFailsWhenPlusIsOffered() throws {
        let context = try pencilFixture().context
        var mechanism = exchange(.sha256, context, bindings: [.tlsServerEndPoint([1, 2, 3])])
        XCTAssertTrue(isMalformed(mechanism.step(bytes("y,,n=user,r=abc"))))
        // "n" is still fine: the client cannot bind at all.
        var plain = exchange(.sha256, context, bindings: [.tlsServerEndPoint([1, 2, 3])])
        XCTAssertNoThrow(try challenge(plain.step(bytes("n,,n=user,r=abc"))))
    }

    func testPFlagFailsWithoutPlus() throws {
        var mechanism = exchange(.sha256, try pencilFixture().context)
        XCTAssertTrue(isMalformed(mechanism.step(bytes("p=tls-server-end-point,,n=user,r=abc"))))
    }

    func testPlusWithServerEndPointBinding() throws {
        let data: [UInt8] = Array(0..<32)
        let context = try pencilFixture().context
        var client = SCRAMTestClient(hash: .sha256, password: "pencil")
        client.gs2Header = "p=tls-server-end-point,,"
        client.bindingData = data

        var mechanism = SCRAMSHA256PlusMechanism(
            context: context,
            iterations: cheap,
            channelBindings: [.tlsExporter([9]), .tlsServerEndPoint(data)]
        )
        let first = try challenge(mechanism.step(client.clientFirst))
        let final = try client.final(for: first)
        XCTAssertEqual(mechanism.step(final.message), .challenge(final.serverFinal))
        XCTAssertEqual(mechanism.step([]), .success(AuthenticatedIdentity(user: user)))

        // Binding data of another TLS channel: a man in the middle.
        var other = exchange(.sha256, context, plus: true, bindings: [.tlsServerEndPoint(data)])
        var attacker = client
        attacker.bindingData = Array(data.reversed())
        let attackerFirst = try challenge(other.step(attacker.clientFirst))
        guard case .failure(.authenticationFailed) = other.step(try attacker.final(for: attackerFirst).message) else {
            return XCTFail("mismatched binding data must fail")
        }

        // Without p=, with an unknown type, or with no binding available, -PLUS fails at once.
        for (header, bindings) in [
            ("n,,", [SCRAMChannelBinding.tlsServerEndPoint(data)]),
            ("y,,", [.tlsServerEndPoint(data)]),
            ("p=tls-unique,,", [.tlsServerEndPoint(data)]),
            ("p=tls-server-end-point,,", []),
        ] {
            var plus = exchange(.sha256, context, plus: true, bindings: bindings)
            XCTAssertTrue(isMalformed(plus.step(bytes(header + "n=user,r=abc"))), header)
        }

        // -PLUS with SHA-1 too, and the c= of a plain "n,," header is refused.
        var sha1 = SCRAMSHA1PlusMechanism(
            context: context,
            iterations: cheap,
            channelBindings: [.tlsServerEndPoint(data)]
        )
        var sha1Client = client
        sha1Client.hash = .sha1
        let sha1First = try challenge(sha1.step(sha1Client.clientFirst))
        let sha1Final = try sha1Client.final(for: sha1First)
        XCTAssertEqual(sha1.step(sha1Final.message), .challenge(sha1Final.serverFinal))

        var missing = exchange(.sha256, context, plus: true, bindings: [.tlsServerEndPoint(data)])
        var noData = client
        noData.bindingData = []
        let missingFirst = try challenge(missing.step(noData.clientFirst))
        guard case .failure(.authenticationFailed) = missing.step(try noData.final(for: missingFirst).message) else {
            return XCTFail("a c= without the binding data must fail")
        }
    }

    // MARK: - Malformed client-first

    func testMalformedClientFirstMessages() throws {
        let context = try pencilFixture().context
        let cases: [(String, [UInt8])] = [
            ("unknown flag", bytes("x,,n=user,r=abc")),
            ("GS2 nonstandard flag", bytes("F,n,,n=user,r=abc")),
            ("no comma after flag", bytes("nn=user,r=abc")),
            ("one comma only", bytes("n,n=user,r=abc")),
            ("no GS2 header", bytes("n=user,r=abc")),
            ("header only", bytes("n,,")),
            ("flag only", bytes("n")),
            ("p without name", bytes("p,,n=user,r=abc")),
            ("p with empty name", bytes("p=,,n=user,r=abc")),
            ("p name bad char", bytes("p=tls_x,,n=user,r=abc")),
            ("empty authzid", bytes("n,a=,n=user,r=abc")),
            ("authzid not a=", bytes("n,b=x,n=user,r=abc")),
            ("authzid bad escape", bytes("n,a=x=2,n=user,r=abc")),
            ("missing n", bytes("n,,r=abc")),
            ("missing r", bytes("n,,n=user")),
            ("r before n", bytes("n,,r=abc,n=user")),
            ("repeated n", bytes("n,,n=user,r=abc,n=other")),
            ("repeated r", bytes("n,,n=user,r=abc,r=def")),
            ("defined attribute as extension", bytes("n,,n=user,r=abc,p=abc")),
            ("mandatory extension", bytes("n,,m=foo,n=user,r=abc")),
            ("empty user", bytes("n,,n=,r=abc")),
            ("empty nonce", bytes("n,,n=user,r=")),
            ("user bad escape", bytes("n,,n=us=er,r=abc")),
            ("user lowercase escape", bytes("n,,n=a=2cb,r=abc")),
            ("user escape cut", bytes("n,,n=ab=3,r=abc")),
            ("nonce not ASCII", bytes("n,,n=user,r=ab\u{00E9}")),
            ("nonce with space", bytes("n,,n=user,r=a b")),
            ("trailing comma", bytes("n,,n=user,r=abc,")),
            ("attribute without =", bytes("n,,n=user,r=abc,x")),
            ("long attribute name", bytes("n,,n=user,r=abc,xy=1")),
            ("empty extension", bytes("n,,n=user,r=abc,x=")),
            ("invalid UTF-8", bytes("n,,n=") + [0xC3, 0x28] + bytes(",r=abc")),
            ("NUL", bytes("n,,n=us") + [0] + bytes("er,r=abc")),
        ]
        for (name, message) in cases {
            var mechanism = exchange(.sha256, context)
            let step = mechanism.step(message)
            XCTAssertTrue(isMalformed(step), "\(name): \(step)")
            XCTAssertTrue(isMalformed(mechanism.step([])), "\(name): the exchange is over")
        }
    }

    func testOptionalExtensionsAreIgnored() throws {
        var mechanism = exchange(.sha256, try pencilFixture().context)
        let client = SCRAMTestClient(hash: .sha256, password: "pencil")
        let first = try challenge(mechanism.step(client.clientFirst + bytes(",x=future,Z=ext=2")))
        // The extension is part of client-first-message-bare, so the proof has to cover it: redo with it included.
        var extended = client
        extended.clientNonce += ",x=future,Z=ext=2"
        let final = try extended.final(for: first, extensions: ",q=later")
        XCTAssertEqual(mechanism.step(final.message), .challenge(final.serverFinal))
    }

    func testHugeMessagesAreRefused() throws {
        let context = try pencilFixture().context
        let limit = SCRAMSHA256Mechanism.maximumMessageLength
        var mechanism = exchange(.sha256, context)
        let huge = bytes("n,,n=user,r=") + [UInt8](repeating: UInt8(ascii: "a"), count: limit)
        XCTAssertEqual(mechanism.step(huge), .failure(.tooLong(limit: limit)))

        var exact = exchange(.sha256, context)
        let fits = bytes("n,,n=user,r=") + [UInt8](repeating: UInt8(ascii: "a"), count: limit - 12)
        XCTAssertNoThrow(try challenge(exact.step(fits)))

        var final = exchange(.sha256, context)
        let first = try challenge(final.step(SCRAMTestClient(hash: .sha256, password: "pencil").clientFirst))
        let nonce = try XCTUnwrap(String(decoding: first, as: UTF8.self).split(separator: ",").first)
        let padding = String(repeating: "x", count: limit)
        XCTAssertEqual(
            final.step(bytes("c=biws,\(nonce),x=\(padding),p=AAAA")),
            .failure(.tooLong(limit: limit))
        )

        // A long user name is refused by the name rules, not by a crash.
        var longName = exchange(.sha256, context)
        let name = String(repeating: "u", count: 1000)
        XCTAssertTrue(isMalformed(longName.step(bytes("n,,n=\(name),r=abc"))))
    }

    // MARK: - Malformed client-final

    func testMalformedClientFinalMessages() throws {
        let context = try pencilFixture().context
        let client = SCRAMTestClient(hash: .sha256, password: "pencil")
        let proof = Base64.encode([UInt8](repeating: 7, count: 32))
        let cases: [(String, (String) -> [UInt8])] = [
            ("wrong c= flag", { self.bytes("c=eSws,r=\($0),p=\(proof)") }),
            ("c= with authzid", { self.bytes("c=\(Base64.encode(self.bytes("n,a=user,")))," + "r=\($0),p=\(proof)") }),
            ("c= not base64", { self.bytes("c=biws!,r=\($0),p=\(proof)") }),
            ("c= bad padding", { self.bytes("c=biw,r=\($0),p=\(proof)") }),
            ("nonce mismatch", { self.bytes("c=biws,r=\($0)x,p=\(proof)") }),
            ("client nonce only", { _ in self.bytes("c=biws,r=\(client.clientNonce),p=\(proof)") }),
            ("missing c", { self.bytes("r=\($0),p=\(proof)") }),
            ("missing r", { _ in self.bytes("c=biws,p=\(proof)") }),
            ("missing p", { self.bytes("c=biws,r=\($0)") }),
            ("p not last", { self.bytes("c=biws,r=\($0),p=\(proof),x=1") }),
            ("repeated p", { self.bytes("c=biws,r=\($0),p=\(proof),p=\(proof)") }),
            ("repeated r", { self.bytes("c=biws,r=\($0),r=\($0),p=\(proof)") }),
            ("repeated c", { self.bytes("c=biws,r=\($0),c=biws,p=\(proof)") }),
            ("order", { self.bytes("r=\($0),c=biws,p=\(proof)") }),
            ("bad base64 proof", { self.bytes("c=biws,r=\($0),p=@@@@") }),
            ("non-canonical base64 proof", { self.bytes("c=biws,r=\($0),p=\(proof.dropLast())") }),
            ("short proof", { self.bytes("c=biws,r=\($0),p=\(Base64.encode([UInt8](repeating: 7, count: 20)))") }),
            ("long proof", { self.bytes("c=biws,r=\($0),p=\(Base64.encode([UInt8](repeating: 7, count: 33)))") }),
            ("empty", { _ in [] }),
            ("invalid UTF-8", { self.bytes("c=biws,r=\($0),x=") + [0xFF] + self.bytes(",p=\(proof)") }),
            ("NUL", { self.bytes("c=biws,r=\($0),x=") + [0] + self.bytes(",p=\(proof)") }),
            ("trailing comma", { self.bytes("c=biws,r=\($0),p=\(proof),") }),
        ]
        for (name, build) in cases {
            var mechanism = exchange(.sha256, context)
            let first = try challenge(mechanism.step(client.clientFirst))
            let nonce = try XCTUnwrap(String(decoding: first, as: UTF8.self).split(separator: ",").first).dropFirst(2)
            let step = mechanism.step(build(String(nonce)))
            XCTAssertTrue(isMalformed(step), "\(name): \(step)")
            XCTAssertTrue(isMalformed(mechanism.step([])), "\(name): the exchange is over")
        }
    }

    func testDataAfterServerSignatureIsRefused() throws {
        var mechanism = exchange(.sha256, try pencilFixture().context)
        let result = try runToFinal(&mechanism, SCRAMTestClient(hash: .sha256, password: "pencil"))
        XCTAssertEqual(result.step, .challenge(result.expected))
        XCTAssertTrue(isMalformed(mechanism.step(bytes("v=x"))))
    }

    func testRandomGarbageNeverCrashes() throws {
        let context = try pencilFixture().context
        var generator = SystemRandomNumberGenerator()
        let alphabet = bytes("nyp=a,rcsi2C3D\u{00E9}x") + [0, 0xFF, 0xC3]
        for _ in 0..<300 {
            var mechanism = exchange(.sha256, context, iterations: 1)
            let length = Int.random(in: 0...40, using: &generator)
            let message = (0..<length).map { _ in alphabet.randomElement(using: &generator) ?? 0 }
            _ = mechanism.step(message)
            _ = mechanism.step(message)
            _ = mechanism.step(message)
        }
    }
}
