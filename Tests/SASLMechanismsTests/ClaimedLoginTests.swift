import SASLDB
import XCTest

@testable import SASLMechanisms

/// What each mechanism reports of the attempt besides its verdict: the login name the client claimed, from the
/// mechanism's own parser, on success and failure alike; and for PLAIN and LOGIN the retry material, until erased.
final class ClaimedLoginTests: XCTestCase {
    private let alice = UserID(authid: Array("alice".utf8), realm: Array("example.org".utf8))

    /// A fresh in-memory store holding alice (password `secret`, plaintext as Cyrus writes it).
    private var context: SASLServerContext {
        get throws { try MechanismFixture(users: [("alice", "secret", .cyrusDefault)]).context }
    }

    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    private func retryMaterial(_ mechanism: some SASLServerMechanism) -> [UInt8]? {
        mechanism.withRetryMaterial { $0 }
    }

    private func isMalformed(_ step: SASLStep) -> Bool {
        if case .failure(.malformed) = step { return true }
        return false
    }

    private func isAuthenticationFailure(_ step: SASLStep) -> Bool {
        if case .failure(.authenticationFailed) = step { return true }
        return false
    }

    // MARK: PLAIN

    func testPLAINReportsTheAuthcidOnSuccessAndFailure() throws {
        var success = PlainMechanism(context: try context)
        XCTAssertNil(success.claimedLogin)
        XCTAssertEqual(success.step(bytes("\0alice@example.org\0secret")), .success(AuthenticatedIdentity(user: alice)))
        XCTAssertEqual(success.claimedLogin, bytes("alice@example.org"))

        var wrong = PlainMechanism(context: try context)
        XCTAssertTrue(isAuthenticationFailure(wrong.step(bytes("bob\0alice\0wrong"))))
        XCTAssertEqual(wrong.claimedLogin, bytes("alice"))

        var unknown = PlainMechanism(context: try context)
        XCTAssertTrue(isAuthenticationFailure(unknown.step(bytes("\0nobody\0secret"))))
        XCTAssertEqual(unknown.claimedLogin, bytes("nobody"))
    }

    func testPLAINWithoutInitialResponseReportsTheLoginOnlyOnceTheMessageArrives() throws {
        var mechanism = PlainMechanism(context: try context)
        XCTAssertEqual(mechanism.step(nil), .challenge([]))
        XCTAssertNil(mechanism.claimedLogin)
        XCTAssertNil(retryMaterial(mechanism))
        _ = mechanism.step(bytes("\0alice\0wrong"))
        XCTAssertEqual(mechanism.claimedLogin, bytes("alice"))
    }

    func testPLAINReportsTheAuthcidOfAMessageThatFailsALaterCheck() throws {
        // Two NUL bytes make the authcid known; an invalid or empty part fails afterwards, under that name.
        let cases: [([UInt8], [UInt8])] = [
            ([0] + bytes("alice") + [0], bytes("alice")),
            ([0xff, 0] + bytes("alice") + [0] + bytes("secret"), bytes("alice")),
            ([0, 0xc3, 0x28, 0] + bytes("secret"), [0xc3, 0x28]),
            ([0, 0] + bytes("secret"), []),
        ]
        for (message, login) in cases {
            var mechanism = PlainMechanism(context: try context)
            XCTAssertTrue(isMalformed(mechanism.step(message)), "\(message)")
            XCTAssertEqual(mechanism.claimedLogin, login, "\(message)")
        }
    }

    func testPLAINReportsNoLoginForAMessageWithoutTwoNULs() throws {
        for message in [bytes(""), bytes("alice"), bytes("alice\0secret"), bytes("\0alice\0sec\0ret")] {
            var mechanism = PlainMechanism(context: try context)
            XCTAssertTrue(isMalformed(mechanism.step(message)), "\(message)")
            XCTAssertNil(mechanism.claimedLogin, "\(message)")
            XCTAssertNil(retryMaterial(mechanism), "\(message)")
        }
    }

    func testPLAINRetryMaterialIsAuthcidNULPasswordWhateverTheAuthzid() throws {
        var first = PlainMechanism(context: try context)
        _ = first.step(bytes("\0alice\0wrong"))
        var second = PlainMechanism(context: try context)
        _ = second.step(bytes("carol\0alice\0wrong"))
        XCTAssertEqual(retryMaterial(first), bytes("alice\0wrong"))
        XCTAssertEqual(retryMaterial(second), retryMaterial(first))
    }

    func testPLAINRetryMaterialIsErasedInEveryCopy() throws {
        var mechanism = PlainMechanism(context: try context)
        _ = mechanism.step(bytes("\0alice\0wrong"))
        let copy = mechanism
        mechanism.eraseRetryMaterial()
        XCTAssertNil(retryMaterial(mechanism))
        XCTAssertNil(retryMaterial(copy))
        XCTAssertEqual(mechanism.claimedLogin, bytes("alice"), "the login is no secret and stays")
    }

    // MARK: LOGIN

    func testLOGINReportsTheUserNameAsSoonAsItArrives() throws {
        var mechanism = LoginMechanism(context: try context)
        XCTAssertEqual(mechanism.step(nil), .challenge(LoginMechanism.usernamePrompt))
        XCTAssertNil(mechanism.claimedLogin)
        XCTAssertEqual(mechanism.step(bytes("alice")), .challenge(LoginMechanism.passwordPrompt))
        XCTAssertEqual(mechanism.claimedLogin, bytes("alice"))
        XCTAssertNil(retryMaterial(mechanism), "no password yet")
        XCTAssertTrue(isAuthenticationFailure(mechanism.step(bytes("wrong"))))
        XCTAssertEqual(mechanism.claimedLogin, bytes("alice"))
        XCTAssertEqual(retryMaterial(mechanism), bytes("alice\0wrong"))
    }

    func testLOGINRetryMaterialMatchesPLAINsForTheSameCredential() throws {
        var login = LoginMechanism(context: try context)
        _ = login.step(bytes("alice"))
        _ = login.step(bytes("wrong"))
        var plain = PlainMechanism(context: try context)
        _ = plain.step(bytes("\0alice\0wrong"))
        XCTAssertEqual(retryMaterial(login), retryMaterial(plain))
    }

    func testLOGINReportsAMalformedUserNameAsSent() throws {
        var empty = LoginMechanism(context: try context)
        XCTAssertTrue(isMalformed(empty.step([])))
        XCTAssertEqual(empty.claimedLogin, [])

        var notUTF8 = LoginMechanism(context: try context)
        XCTAssertTrue(isMalformed(notUTF8.step([0x61, 0xff])))
        XCTAssertEqual(notUTF8.claimedLogin, [0x61, 0xff])
        XCTAssertNil(retryMaterial(notUTF8))
    }

    func testLOGINRetryMaterialIsErasedInEveryCopy() throws {
        var mechanism = LoginMechanism(context: try context)
        _ = mechanism.step(bytes("alice"))
        _ = mechanism.step(bytes("wrong"))
        let copy = mechanism
        copy.eraseRetryMaterial()
        XCTAssertNil(retryMaterial(mechanism))
        XCTAssertNil(retryMaterial(copy))
        XCTAssertEqual(mechanism.claimedLogin, bytes("alice"))
    }

    // MARK: CRAM-MD5

    func testCRAMMD5ReportsTheNameBeforeTheLastSpace() throws {
        let cases: [(String, String?)] = [
            ("alice 00112233445566778899aabbccddeeff", "alice"),
            ("alice smith 00112233445566778899aabbccddeeff", "alice smith"),
            ("alice 00112233445566778899AABBCCDDEEFF", "alice"),
            (" 00112233445566778899aabbccddeeff", ""),
            ("alice", nil),
        ]
        for (response, login) in cases {
            var mechanism = CRAMMD5Mechanism(context: try context)
            guard case .challenge = mechanism.step(nil) else { return XCTFail("no challenge") }
            guard case .failure = mechanism.step(bytes(response)) else { return XCTFail("\(response) succeeded") }
            XCTAssertEqual(mechanism.claimedLogin, login.map(bytes), response)
            XCTAssertNil(retryMaterial(mechanism))
        }
    }

    func testCRAMMD5ReportsNothingForAnInitialResponse() throws {
        var mechanism = CRAMMD5Mechanism(context: try context)
        XCTAssertTrue(isMalformed(mechanism.step(bytes("alice 00112233445566778899aabbccddeeff"))))
        XCTAssertNil(mechanism.claimedLogin)
    }

    // MARK: DIGEST-MD5

    private let digestNonce = "OA9BSXrbuRhWay"

    /// A digest-response for the fixed nonce whose digest is wrong, with `username` as written.
    private func digestResponse(username: String, nonce: String? = nil) -> [UInt8] {
        bytes(
            "charset=utf-8,username=\(username),realm=\"example.org\",nonce=\"\(nonce ?? digestNonce)\",nc=00000001,"
                + "cnonce=\"OA9BSuZWMSpW8m\",digest-uri=\"smtp/\(MechanismFixture.hostName)\","
                + "response=00112233445566778899aabbccddeeff,qop=auth"
        )
    }

    private func digestStep(_ response: [UInt8]) throws -> (step: SASLStep, login: [UInt8]?) {
        var mechanism = DigestMD5Mechanism(context: try context, nonce: digestNonce)
        guard case .challenge = mechanism.step(nil) else { return (.failure(.cancelled), nil) }
        XCTAssertNil(mechanism.claimedLogin)
        let step = mechanism.step(response)
        XCTAssertNil(retryMaterial(mechanism))
        return (step, mechanism.claimedLogin)
    }

    func testDIGESTMD5ReportsTheUsernameQuotedOrNot() throws {
        let quoted = try digestStep(digestResponse(username: #""alice""#))
        XCTAssertTrue(isAuthenticationFailure(quoted.step))
        XCTAssertEqual(quoted.login, bytes("alice"))

        let token = try digestStep(digestResponse(username: "alice"))
        XCTAssertTrue(isAuthenticationFailure(token.step))
        XCTAssertEqual(token.login, bytes("alice"))
    }

    func testDIGESTMD5ReportsAQuotedUsernameWithItsEscapesRemoved() throws {
        let result = try digestStep(digestResponse(username: #""al\"i\\ce, x=y@example.org""#))
        XCTAssertEqual(result.login, bytes(#"al"i\ce, x=y@example.org"#))
    }

    func testDIGESTMD5ReportsTheUsernameOfAResponseThatFailsALaterCheck() throws {
        let result = try digestStep(digestResponse(username: #""alice""#, nonce: "not-the-nonce-sent"))
        XCTAssertTrue(isMalformed(result.step))
        XCTAssertEqual(result.login, bytes("alice"))
    }

    func testDIGESTMD5ReportsNothingForAResponseThatDoesNotParseOrNamesNoOne() throws {
        let unterminated = try digestStep(digestResponse(username: #""alice"#))
        XCTAssertTrue(isMalformed(unterminated.step))
        XCTAssertNil(unterminated.login)

        let withoutUsername = try digestStep(bytes(#"realm="example.org",nonce="OA9BSXrbuRhWay""#))
        XCTAssertTrue(isMalformed(withoutUsername.step))
        XCTAssertNil(withoutUsername.login)
    }

    // MARK: SCRAM

    /// A SCRAM-SHA-256 mechanism after the client-first message `message`.
    private func scram(_ message: String) throws -> (mechanism: SCRAMSHA256Mechanism, step: SASLStep) {
        var mechanism = SCRAMSHA256Mechanism(context: try context, iterations: testSCRAMIterations)
        let step = mechanism.step(bytes(message))
        XCTAssertNil(retryMaterial(mechanism))
        return (mechanism, step)
    }

    func testSCRAMReportsTheUserNameWithEscapesDecoded() throws {
        let plain = try scram("n,,n=alice,r=clientnonce")
        guard case .challenge = plain.step else { return XCTFail("no server-first message") }
        XCTAssertEqual(plain.mechanism.claimedLogin, bytes("alice"))

        let escaped = try scram("n,a=x=3Dy,n=al=2Cice=3D@example.org,r=clientnonce")
        XCTAssertEqual(escaped.mechanism.claimedLogin, bytes("al,ice=@example.org"))
    }

    func testSCRAMKeepsTheUserNameThroughAFailedProof() throws {
        let result = try scram("n,,n=nobody,r=clientnonce")
        var mechanism = result.mechanism
        guard case .challenge(let serverFirst) = result.step else { return XCTFail("no server-first message") }
        let nonce = try XCTUnwrap(String(decoding: serverFirst, as: UTF8.self).split(separator: ",").first)
        let proof = Base64.encode([UInt8](repeating: 0, count: SCRAMHash.sha256.digestLength))
        XCTAssertTrue(isAuthenticationFailure(mechanism.step(bytes("c=biws,\(nonce),p=\(proof)"))))
        XCTAssertEqual(mechanism.claimedLogin, bytes("nobody"))
    }

    func testSCRAMReportsTheUserNameWhenALaterCheckFails() throws {
        // The message parses; the channel-binding flag is refused afterwards (p= on a mechanism without -PLUS).
        let binding = try scram("p=tls-server-end-point,,n=alice,r=clientnonce")
        XCTAssertTrue(isMalformed(binding.step))
        XCTAssertEqual(binding.mechanism.claimedLogin, bytes("alice"))
    }

    func testSCRAMReportsNothingForAClientFirstMessageThatDoesNotParse() throws {
        for message in ["n,,n=al=2Xice,r=clientnonce", "n,,r=clientnonce", "x,,n=alice,r=clientnonce", "n,,n=alice"] {
            let result = try scram(message)
            XCTAssertTrue(isMalformed(result.step), message)
            XCTAssertNil(result.mechanism.claimedLogin, message)
        }
    }
}
