import SASLClient
import XCTest

final class SASLClientFactoryTests: XCTestCase {
    private let credentials = SASLClientCredentials(user: "alice@example.org", password: "secret")
    private let options = SASLClientOptions(host: "mail.example.org")

    func testEverySupportedNameMakesItsMechanismWhateverItsCase() throws {
        for name in SASLClientFactory.supported {
            XCTAssertEqual(
                try SASLClientFactory.make(name.lowercased(), credentials: credentials, options: options).name,
                name
            )
        }
    }

    func testAnUnknownMechanismIsRefusedByName() {
        XCTAssertThrowsError(try SASLClientFactory.make("GSSAPI", credentials: credentials, options: options)) {
            XCTAssertEqual($0 as? SASLClientError, .unsupportedMechanism("GSSAPI"))
            XCTAssertEqual(
                "\($0)",
                "mechanism GSSAPI is not one of SCRAM-SHA-256 SCRAM-SHA-1 DIGEST-MD5 CRAM-MD5 PLAIN LOGIN"
            )
        }
    }

    func testPlainSendsEverythingAtOnceAndRefusesAChallenge() throws {
        var client = PlainClient(credentials: credentials)
        let response = try XCTUnwrap(client.initialResponse())
        XCTAssertEqual(response, Array("\0alice@example.org\0secret".utf8))
        XCTAssertEqual(client.redacted(response), Array("\0alice@example.org\0********".utf8))
        XCTAssertThrowsError(try client.respond(to: [])) {
            XCTAssertEqual($0 as? SASLClientError, .unexpectedChallenge(mechanism: "PLAIN"))
        }
    }

    func testLoginSendsTheNameThenThePasswordAndOnlyThePasswordIsRedacted() throws {
        var client = LoginClient(credentials: credentials)
        XCTAssertNil(try client.initialResponse())
        let name = try client.respond(to: Array("Username:".utf8))
        XCTAssertEqual(name, Array("alice@example.org".utf8))
        XCTAssertNil(client.redacted(name))
        let password = try client.respond(to: Array("Password:".utf8))
        XCTAssertEqual(password, Array("secret".utf8))
        XCTAssertEqual(client.redacted(password), Array("********".utf8))
        XCTAssertThrowsError(try client.respond(to: []))
    }

    func testCRAMMD5AnswersTheRFC2195Example() throws {
        // RFC 2195 §2: user tim, password tanstaaftanstaaf.
        var client = CRAMMD5Client(credentials: SASLClientCredentials(user: "tim", password: "tanstaaftanstaaf"))
        XCTAssertNil(try client.initialResponse())
        let response = try client.respond(to: Array("<1896.697170952@postoffice.reston.mci.net>".utf8))
        XCTAssertEqual(String(decoding: response, as: UTF8.self), "tim b913a602c7eda7a495b4e6e7334d3890")
        XCTAssertNil(client.redacted(response))
        XCTAssertThrowsError(try client.respond(to: Array("again".utf8))) {
            XCTAssertEqual($0 as? SASLClientError, .unexpectedChallenge(mechanism: "CRAM-MD5"))
        }
    }

    func testCRAMMD5RefusesAnEmptyChallenge() {
        var client = CRAMMD5Client(credentials: credentials)
        XCTAssertThrowsError(try client.respond(to: [])) {
            guard case .malformedChallenge = $0 as? SASLClientError else { return XCTFail("\($0)") }
        }
    }
}
