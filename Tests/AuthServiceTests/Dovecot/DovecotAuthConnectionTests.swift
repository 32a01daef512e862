import NIOCore
import SASLDB
import SASLMechanisms
import XCTest

@testable import AuthService

/// The protocol state machine without sockets: handshake, requests, answers, malformed input.
final class DovecotAuthConnectionTests: XCTestCase {
    private let plainAlice = DovecotTestDriver.base64("\0alice\0secret")

    func testHandshakeListsMechanismsWithFlagsBeforeSPIDAndEndsWithDONE() throws {
        let driver = try DovecotTestDriver()
        let lines = DovecotTestDriver.text(driver.connection.start()).split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "VERSION\t1\t2")
        XCTAssertEqual(
            Array(lines[1..<7]),
            [
                "MECH\tSCRAM-SHA-256\tmutual-auth", "MECH\tSCRAM-SHA-1\tmutual-auth",
                "MECH\tDIGEST-MD5\tdictionary\tactive\tmutual-auth", "MECH\tCRAM-MD5\tdictionary\tactive",
                "MECH\tPLAIN\tplaintext", "MECH\tLOGIN\tplaintext",
            ]
        )
        XCTAssertEqual(lines[7], "SPID\t4242")
        XCTAssertEqual(lines[8], "CUID\t7")
        XCTAssertEqual(lines[9], "COOKIE\t" + String(repeating: "ab", count: 16))
        XCTAssertEqual(lines.last, "DONE")
        XCTAssertEqual(lines.count, 11)
    }

    func testPlainWithInitialResponseAnswersOKWithCanonicalLogin() throws {
        var driver = try DovecotTestDriver()
        driver.send("VERSION\t1\t0")
        driver.send("CPID\t123")
        driver.send("AUTH\t1\tPLAIN\tservice=smtp\tnologin\tlip=127.0.0.1\trip=192.0.2.7\tsecured\tresp=\(plainAlice)")
        XCTAssertEqual(driver.sent, ["OK\t1\tuser=alice@example.org"])
        XCTAssertEqual(driver.connection.requestCount, 0)
    }

    func testWrongPasswordFailsWithGenericReasonAndCountsAgainstClientAndAccount() throws {
        var driver = try DovecotTestDriver()
        let wrong = DovecotTestDriver.base64("\0alice\0wrong")
        driver.send("AUTH\t5\tPLAIN\tservice=smtp\trip=192.0.2.7\tsecured\tresp=\(wrong)")
        XCTAssertEqual(driver.sent, ["FAIL\t5\treason=Authentication failed"])
        let failure = try XCTUnwrap(driver.failures.first)
        XCTAssertTrue(failure.counted)
        XCTAssertEqual(failure.remoteAddress, "192.0.2.7")
        XCTAssertEqual(failure.account, "alice@example.org")
        XCTAssertNotNil(failure.fingerprint)
    }

    func testUnknownUserGetsTheSameAnswerAsAWrongPassword() throws {
        var driver = try DovecotTestDriver()
        driver.send("AUTH\t5\tPLAIN\tservice=smtp\tsecured\tresp=\(DovecotTestDriver.base64("\0nobody\0secret"))")
        XCTAssertEqual(driver.sent, ["FAIL\t5\treason=Authentication failed"])
    }

    func testLoginExchangeUsesCONTChallenges() throws {
        var driver = try DovecotTestDriver()
        driver.send("AUTH\t2\tLOGIN\tservice=smtp\tsecured")
        XCTAssertEqual(driver.last, "CONT\t2\t" + DovecotTestDriver.base64("Username:"))
        driver.send("CONT\t2\t" + DovecotTestDriver.base64("alice"))
        XCTAssertEqual(driver.last, "CONT\t2\t" + DovecotTestDriver.base64("Password:"))
        driver.send("CONT\t2\t" + DovecotTestDriver.base64("secret"))
        XCTAssertEqual(driver.last, "OK\t2\tuser=alice@example.org")
    }

    func testPlaintextMechanismRefusedWhenNotSecured() throws {
        var driver = try DovecotTestDriver()
        driver.send("AUTH\t3\tPLAIN\tservice=smtp\tresp=\(plainAlice)")
        XCTAssertEqual(driver.sent, ["FAIL\t3\treason=Authentication failed"])
        XCTAssertEqual(driver.failures.first?.counted, false)
    }

    func testMechanismsAllowedWithoutTLSRunWithoutSecured() throws {
        let policy = DovecotMechanismPolicy(
            standard: MechanismPolicy(enabled: ["CRAM-MD5", "PLAIN"], allowedWithoutTLS: ["CRAM-MD5"])
        )
        var driver = try DovecotTestDriver(policy: policy)
        driver.send("AUTH\t1\tCRAM-MD5\tservice=smtp")
        XCTAssertTrue(driver.last?.hasPrefix("CONT\t1\t") == true, "\(driver.sent)")
        driver.send("AUTH\t2\tPLAIN\tservice=smtp\tresp=\(plainAlice)")
        XCTAssertEqual(driver.last, "FAIL\t2\treason=Authentication failed")
    }

    func testServiceChoosesItsMechanismList() throws {
        let policy = DovecotMechanismPolicy(
            standard: MechanismPolicy(enabled: ["PLAIN"]),
            services: ["sieve": MechanismPolicy(enabled: ["LOGIN"])]
        )
        var driver = try DovecotTestDriver(policy: policy)
        XCTAssertEqual(policy.announced, ["PLAIN", "LOGIN"])
        driver.send("AUTH\t1\tPLAIN\tservice=sieve\tsecured\tresp=\(plainAlice)")
        XCTAssertEqual(driver.last, "FAIL\t1\treason=Authentication failed")
        driver.send("AUTH\t2\tPLAIN\tservice=smtp\tsecured\tresp=\(plainAlice)")
        XCTAssertEqual(driver.last, "OK\t2\tuser=alice@example.org")
    }

    func testRequestWithoutServiceFails() throws {
        var driver = try DovecotTestDriver()
        driver.send("AUTH\t1\tPLAIN\tsecured\tresp=\(plainAlice)")
        XCTAssertEqual(driver.sent, ["FAIL\t1\treason=Authentication failed"])
        XCTAssertNil(driver.closed)
    }

    func testConcurrentRequestsAreAnsweredByTheirIds() throws {
        var driver = try DovecotTestDriver()
        driver.send("AUTH\t10\tLOGIN\tservice=smtp\tsecured")
        driver.send("AUTH\t11\tLOGIN\tservice=smtp\tsecured")
        driver.send("CONT\t11\t" + DovecotTestDriver.base64("alice"))
        driver.send("CONT\t10\t" + DovecotTestDriver.base64("alice"))
        driver.send("CONT\t10\t" + DovecotTestDriver.base64("wrong"))
        driver.send("CONT\t11\t" + DovecotTestDriver.base64("secret"))
        XCTAssertEqual(
            driver.sent.suffix(2),
            ["FAIL\t10\treason=Authentication failed", "OK\t11\tuser=alice@example.org"]
        )
    }

    func testDuplicateIdClosesTheConnection() throws {
        var driver = try DovecotTestDriver()
        driver.send("AUTH\t1\tLOGIN\tservice=smtp\tsecured")
        driver.send("AUTH\t1\tLOGIN\tservice=smtp\tsecured")
        XCTAssertNotNil(driver.closed)
        driver.send("CONT\t1\t" + DovecotTestDriver.base64("alice"))
        XCTAssertEqual(driver.sent.count, 1, "nothing is answered after the close")
    }

    func testBrokenIdsCloseTheConnection() throws {
        for line in [
            "AUTH", "AUTH\tx\tPLAIN", "AUTH\t0\tPLAIN", "AUTH\t99999999999\tPLAIN", "AUTH\t1", "CONT\tx\tAA==",
        ] {
            var driver = try DovecotTestDriver()
            driver.send(line)
            XCTAssertNotNil(driver.closed, line)
        }
    }

    func testParametersAfterRespCloseTheConnection() throws {
        var driver = try DovecotTestDriver()
        driver.send("AUTH\t1\tPLAIN\tservice=smtp\tresp=\(plainAlice)\tsecured")
        XCTAssertNotNil(driver.closed)
    }

    func testBadBase64FailsTheRequestOnly() throws {
        var driver = try DovecotTestDriver()
        driver.send("AUTH\t1\tPLAIN\tservice=smtp\tsecured\tresp=!!!")
        XCTAssertEqual(driver.last, "FAIL\t1\treason=Authentication failed")
        driver.send("AUTH\t2\tLOGIN\tservice=smtp\tsecured")
        driver.send("CONT\t2\tnot base64")
        XCTAssertEqual(driver.last, "FAIL\t2\treason=Authentication failed")
        XCTAssertNil(driver.closed)
        XCTAssertEqual(driver.failures.map(\.counted), [false, false])
    }

    func testBrokenEscapesFailTheRequest() throws {
        var driver = try DovecotTestDriver()
        driver.send(bytes: Array("AUTH\t1\tPLAIN\tservice=smtp\u{1}x\tsecured".utf8))
        XCTAssertEqual(driver.last, "FAIL\t1\treason=Authentication failed")
        driver.send("AUTH\t2\tLOGIN\tservice=smtp\tsecured")
        driver.send(bytes: Array("CONT\t2\tYWxpY2U=\u{1}".utf8))
        XCTAssertEqual(driver.last, "FAIL\t2\treason=Authentication failed")
        XCTAssertNil(driver.closed)
    }

    func testEscapedValuesAreUnescaped() throws {
        var driver = try DovecotTestDriver()
        driver.send(bytes: Array("AUTH\t1\tPLAIN\tservice=sm\u{1}1tp\trip=1\u{1}t2\tsecured".utf8))
        // `sm\001tp` is no service of its own: the standard list applies and the exchange starts.
        XCTAssertEqual(driver.last, "CONT\t1\t")
        XCTAssertEqual(
            DovecotTabEscape.unescape(Array("a\u{1}tb\u{1}nc\u{1}rd\u{1}1e\u{1}0".utf8)),
            Array("a\tb\nc\rd\u{1}e\0".utf8)
        )
        XCTAssertEqual(
            DovecotTabEscape.escape(Array("a\tb\nc\rd\u{1}e\0".utf8)),
            Array("a\u{1}tb\u{1}nc\u{1}rd\u{1}1e\u{1}0".utf8)
        )
    }

    func testEmptyRespMeansNoInitialResponseForOldClientsAndEmptyForNewOnes() throws {
        var old = try DovecotTestDriver()
        old.send("VERSION\t1\t0")
        old.send("AUTH\t1\tPLAIN\tservice=smtp\tsecured\tresp=")
        XCTAssertEqual(old.last, "CONT\t1\t", "no initial response: PLAIN asks with an empty challenge")
        var new = try DovecotTestDriver()
        new.send("VERSION\t1\t2")
        new.send("AUTH\t1\tPLAIN\tservice=smtp\tsecured\tresp=")
        XCTAssertEqual(new.last, "FAIL\t1\treason=Authentication failed", "an empty PLAIN message is malformed")
    }

    func testOtherMajorVersionClosesTheConnection() throws {
        var driver = try DovecotTestDriver()
        driver.send("VERSION\t2\t0")
        XCTAssertNotNil(driver.closed)
    }

    func testUnknownCommandsAndParametersAreIgnored() throws {
        var driver = try DovecotTestDriver()
        driver.send("HELLO\tworld")
        driver.send("")
        driver.send("AUTH\t1\tPLAIN\tservice=smtp\tsession=abc\tlport=25\tfuture-flag\tsecured\tresp=\(plainAlice)")
        XCTAssertEqual(driver.sent, ["OK\t1\tuser=alice@example.org"])
    }

    func testContinuationForUnknownIdFailsWithoutClosing() throws {
        var driver = try DovecotTestDriver()
        driver.send("CONT\t9\tYWxpY2U=")
        XCTAssertEqual(driver.sent, ["FAIL\t9\treason=Authentication failed"])
        XCTAssertNil(driver.closed)
    }

    func testContinuationWhileAStepRunsFailsTheRequest() throws {
        var driver = try DovecotTestDriver()
        driver.runSteps = false
        driver.send("AUTH\t1\tPLAIN\tservice=smtp\tsecured")
        driver.send("CONT\t1\tYWxpY2U=")
        XCTAssertEqual(driver.sent, ["FAIL\t1\treason=Authentication failed"])
        driver.releaseSteps()
        XCTAssertEqual(driver.sent.count, 1, "the step's late outcome is dropped")
    }

    func testOrphanedRequestsExpire() throws {
        var driver = try DovecotTestDriver(requestTimeout: .seconds(30))
        driver.send("AUTH\t1\tLOGIN\tservice=smtp\tsecured")
        driver.now = driver.now + .seconds(29)
        driver.perform(driver.connection.expireRequests(now: driver.now))
        XCTAssertEqual(driver.connection.requestCount, 1)
        driver.now = driver.now + .seconds(2)
        driver.perform(driver.connection.expireRequests(now: driver.now))
        XCTAssertEqual(driver.connection.requestCount, 0)
        XCTAssertEqual(driver.last, "FAIL\t1\treason=Authentication failed")
    }

    func testTooManyRequestsFailTheNewOne() throws {
        var driver = try DovecotTestDriver(maximumRequests: 2)
        driver.send("AUTH\t1\tLOGIN\tservice=smtp\tsecured")
        driver.send("AUTH\t2\tLOGIN\tservice=smtp\tsecured")
        driver.send("AUTH\t3\tLOGIN\tservice=smtp\tsecured")
        XCTAssertEqual(driver.last, "FAIL\t3\treason=Authentication failed")
        XCTAssertEqual(driver.connection.requestCount, 2)
    }

    func testLoginWithTabIsRefused() throws {
        var driver = try DovecotTestDriver(users: [("al\tice", "secret")])
        driver.send("AUTH\t1\tPLAIN\tservice=smtp\tsecured\tresp=\(DovecotTestDriver.base64("\0al\tice\0secret"))")
        XCTAssertEqual(driver.sent, ["FAIL\t1\treason=Authentication failed"])
    }

    func testCancelAfterSCRAMReadTheSecretsCounts() throws {
        var driver = try DovecotTestDriver()
        driver.send(
            "AUTH\t1\tSCRAM-SHA-256\tservice=smtp\tsecured\tresp=\(DovecotTestDriver.base64("n,,n=alice,r=abcdefghijkl"))"
        )
        XCTAssertTrue(driver.last?.hasPrefix("CONT\t1\t") == true, "\(driver.sent)")
        driver.send("CONT\t1\t*")
        XCTAssertEqual(driver.last, "FAIL\t1\treason=Authentication failed")
        XCTAssertEqual(driver.failures.last?.counted, true)
    }

    func testTemporaryStoreFailureSaysTemp() throws {
        var driver = try DovecotTestDriver()
        driver.connection = DovecotAuthConnection(
            configuration: .init(context: SASLServerContext(lookup: UnreadableLookup(), hostName: "mail.example.org")),
            serverProcessID: 1,
            connectionID: 1,
            cookie: []
        )
        driver.send("AUTH\t1\tPLAIN\tservice=smtp\tsecured\tresp=\(plainAlice)")
        XCTAssertEqual(driver.sent, ["FAIL\t1\ttemp\treason=Temporary authentication failure"])
    }
}

/// A store that cannot be read.
private struct UnreadableLookup: CredentialLookup {
    struct ReadError: Error {}
    func secrets(for user: UserID) throws -> UserSecrets { throw ReadError() }
    var secretPolicy: SecretPolicy { .cyrusDefault }
}
