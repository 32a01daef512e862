import SASLClient
import SASLDB
import SASLMechanisms
import XCTest

final class DigestMD5ClientTests: XCTestCase {
    private let credentials = SASLClientCredentials(user: "alice@example.org", password: "secret")
    private let challenge = #"realm="example.org",nonce="OA6MG9tEQGm2hh",qop="auth",charset=utf-8,algorithm=md5-sess"#

    private func client() -> DigestMD5Client {
        DigestMD5Client(credentials: credentials, host: "mail.example.org", clientNonce: "OA6MHXh6VqTrRk")
    }

    private func refusal(of message: String, by client: DigestMD5Client) -> SASLClientError? {
        var client = client
        do {
            _ = try client.respond(to: Array(message.utf8))
            XCTFail("accepted \(message)")
            return nil
        } catch {
            return error
        }
    }

    func testTheResponseAnswersTheOfferedRealmAndNonce() throws {
        var client = client()
        XCTAssertNil(try client.initialResponse())
        let response = String(decoding: try client.respond(to: Array(challenge.utf8)), as: UTF8.self)
        // RFC 2831 §4's computation with these values, worked out independently of the client.
        let secret = DigestMD5Secret.hash(
            authid: Array("alice@example.org".utf8),
            realm: Array("example.org".utf8),
            password: Array("secret".utf8)
        )
        let a1 = Hex.encode(HashAlgorithm.md5.digest(secret + Array(":OA6MG9tEQGm2hh:OA6MHXh6VqTrRk".utf8)))
        let a2 = Hex.encode(HashAlgorithm.md5.digest(Array("AUTHENTICATE:smtp/mail.example.org".utf8)))
        let expected = Hex.encode(
            HashAlgorithm.md5.digest(Array("\(a1):OA6MG9tEQGm2hh:00000001:OA6MHXh6VqTrRk:auth:\(a2)".utf8))
        )
        XCTAssertEqual(
            response,
            #"username="alice@example.org",realm="example.org",nonce="OA6MG9tEQGm2hh",cnonce="OA6MHXh6VqTrRk","#
                + #"nc=00000001,qop=auth,digest-uri="smtp/mail.example.org",response="# + expected + ",charset=utf-8"
        )
    }

    func testQuotesInTheLoginAreEscaped() throws {
        var client = DigestMD5Client(
            credentials: SASLClientCredentials(user: #"a"b\c"#, password: "x"),
            host: "h",
            clientNonce: "c"
        )
        let response = String(decoding: try client.respond(to: Array(challenge.utf8)), as: UTF8.self)
        XCTAssertTrue(response.hasPrefix(#"username="a\"b\\c","#), response)
    }

    func testAChallengeWithoutNonceOrAuthOrMD5SessIsRefused() throws {
        for message in [
            #"realm="example.org",qop="auth",algorithm=md5-sess"#,
            #"nonce="abc",qop="auth-int,auth-conf",algorithm=md5-sess"#,
            #"nonce="abc",qop="auth""#,
            #"nonce="abc,qop="auth",algorithm=md5-sess"#,
            #"nonce abc"#,
        ] {
            guard case .malformedChallenge = refusal(of: message, by: client()) else { return XCTFail(message) }
        }
    }

    func testAWrongOrMissingRspauthMeansTheServerDoesNotKnowThePassword() throws {
        // A server of another password accepts nothing; to reach rspauth, answer the real server's challenge and
        // give the client a forged rspauth instead of the server's.
        let server = try ClientExchange(users: [("alice@example.org", "secret", plaintextOnly)])
        var mechanism = try XCTUnwrap(SASLMechanismFactory.make("DIGEST-MD5", context: server.context))
        var client = DigestMD5Client(credentials: credentials, host: ClientExchange.hostName)
        guard case .challenge(let first) = mechanism.step(nil) else { return XCTFail("no challenge") }
        guard case .challenge(let rspauth) = mechanism.step(try client.respond(to: first)) else {
            return XCTFail("the server refused the response")
        }
        XCTAssertEqual(
            refusal(of: "rspauth=" + String(repeating: "0", count: 32), by: client),
            .serverNotAuthenticated(mechanism: "DIGEST-MD5")
        )
        guard case .malformedChallenge = refusal(of: "realm=\"x\"", by: client) else { return XCTFail() }
        XCTAssertEqual(try client.respond(to: rspauth), [])
        XCTAssertEqual(mechanism.step([]), .success(AuthenticatedIdentity(user: try server.user("alice@example.org"))))
        XCTAssertThrowsError(try client.respond(to: rspauth))
    }
}
