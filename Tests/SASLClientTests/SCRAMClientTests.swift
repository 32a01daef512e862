import SASLClient
import SASLDB
import SASLMechanisms
import XCTest

final class SCRAMClientTests: XCTestCase {
    private let credentials = SASLClientCredentials(user: "alice@example.org", password: "pencil")
    private let clientNonce = "fyko+d2lbbFgONRv9qkxdawL"

    /// A client that has sent its first message.
    private func startedClient() throws -> SCRAMClient {
        var client = SCRAMClient(hash: .sha256, credentials: credentials, clientNonce: clientNonce)
        XCTAssertEqual(
            try client.initialResponse().map { String(decoding: $0, as: UTF8.self) },
            "n,,n=alice@example.org,r=" + clientNonce
        )
        return client
    }

    private func refusal(
        of message: String,
        by client: SCRAMClient,
        file: StaticString = #filePath,
        line: UInt = #line
    ) -> SASLClientError? {
        var client = client
        do {
            let response = try client.respond(to: Array(message.utf8))
            XCTFail("accepted \(message): \(String(decoding: response, as: UTF8.self))", file: file, line: line)
            return nil
        } catch {
            return error
        }
    }

    func testTheLoginIsEscapedAsASASLName() throws {
        var client = SCRAMClient(
            hash: .sha1,
            credentials: SASLClientCredentials(user: "a=b,c", password: "x"),
            clientNonce: "abc"
        )
        XCTAssertEqual(try client.initialResponse(), Array("n,,n=a=3Db=2Cc,r=abc".utf8))
    }

    func testAServerNonceThatDoesNotExtendTheClientsIsRefused() throws {
        let client = try startedClient()
        for nonce in ["other", clientNonce] {
            guard case .malformedChallenge = refusal(of: "r=\(nonce),s=QSXCR+Q6sek8bf92,i=4096", by: client) else {
                return XCTFail(nonce)
            }
        }
    }

    func testAnIterationCountOutOfBoundsIsRefusedBeforeAnyHashing() throws {
        let client = try startedClient()
        for count in ["0", "-1", "1000001", "many", ""] {
            let message = "r=\(clientNonce)3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=\(count)"
            guard case .malformedChallenge = refusal(of: message, by: client) else { return XCTFail(count) }
        }
    }

    func testAMissingSaltAMandatoryExtensionAndGarbageAreRefused() throws {
        let client = try startedClient()
        for message in [
            "r=\(clientNonce)x,i=4096", "r=\(clientNonce)x,s=!!!,i=4096", "m=ext,r=\(clientNonce)x,s=QSXC,i=4096",
            "garbage", "",
        ] {
            guard case .malformedChallenge = refusal(of: message, by: client) else { return XCTFail(message) }
        }
    }

    func testAServerErrorIsReported() throws {
        let client = try startedClient()
        XCTAssertEqual(
            refusal(of: "e=unknown-user", by: client),
            .serverError(mechanism: "SCRAM-SHA-256", reason: "unknown-user")
        )
    }

    func testAWrongServerSignatureMeansTheServerDoesNotKnowThePassword() throws {
        var client = try startedClient()
        _ = try client.respond(to: Array("r=\(clientNonce)3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=64".utf8))
        let forged = "v=" + Base64.encode([UInt8](repeating: 7, count: 32))
        XCTAssertEqual(refusal(of: forged, by: client), .serverNotAuthenticated(mechanism: "SCRAM-SHA-256"))
        XCTAssertEqual(refusal(of: "v=", by: client), .serverNotAuthenticated(mechanism: "SCRAM-SHA-256"))
    }

    func testAChallengeAfterTheServerFinalMessageIsRefused() throws {
        let server = try ClientExchange(users: [("alice@example.org", "pencil", plaintextOnly)])
        var client = SCRAMClient(hash: .sha1, credentials: credentials)
        var mechanism = try XCTUnwrap(
            SASLMechanismFactory.make("SCRAM-SHA-1", context: server.context, scramIterations: 64)
        )
        guard case .challenge(let first) = mechanism.step(try client.initialResponse()),
            case .challenge(let final) = mechanism.step(try client.respond(to: first))
        else { return XCTFail("no challenges") }
        XCTAssertEqual(try client.respond(to: final), [])
        XCTAssertThrowsError(try client.respond(to: final)) {
            XCTAssertEqual($0 as? SASLClientError, .unexpectedChallenge(mechanism: "SCRAM-SHA-1"))
        }
    }

    func testThePasswordIsPreparedWithTheCallersSASLprep() throws {
        // U+00AD SOFT HYPHEN is mapped to nothing by SASLprep: the server prepares the stored password, so only a
        // client that prepares it too proves the same one.
        let password = "I\u{00AD}X"
        let server = try ClientExchange(users: [("alice@example.org", password, plaintextOnly)])
        let credentials = SASLClientCredentials(user: "alice@example.org", password: password)
        let prepared = SCRAMClient(hash: .sha256, credentials: credentials) {
            try? saslPrep($0, allowUnassigned: false)
        }
        XCTAssertEqual(
            try server.run(prepared),
            .success(AuthenticatedIdentity(user: try server.user("alice@example.org")))
        )
        guard
            case .failure(.authenticationFailed) = try server.run(SCRAMClient(hash: .sha256, credentials: credentials))
        else { return XCTFail("the unprepared password was accepted") }
    }

    func testAPasswordThePreparationRefusesIsNotSent() throws {
        var client = SCRAMClient(
            hash: .sha256,
            credentials: credentials,
            preparePassword: { _ in nil },
            clientNonce: "n"
        )
        _ = try client.initialResponse()
        XCTAssertThrowsError(try client.respond(to: Array("r=nn,s=QSXCR+Q6sek8bf92,i=64".utf8))) {
            XCTAssertEqual($0 as? SASLClientError, .unusablePassword(mechanism: "SCRAM-SHA-256"))
        }
    }
}
