import Foundation
import SASLDB
import XCTest

@testable import SASLMechanisms

final class CRAMMD5MechanismTests: XCTestCase {
    private let rfcChallenge = Array("<1896.697170952@postoffice.reston.mci.net>".utf8)
    private let rfcPassword = "tanstaaftanstaaf"
    private let rfcDigest = "b913a602c7eda7a495b4e6e7334d3890"
    private let tim = UserID(authid: Array("tim".utf8), realm: Array("example.org".utf8))
    private let authFailed = SASLStep.failure(.authenticationFailed(reason: PasswordCheck.failureReason))

    /// Sends the RFC 2195 challenge, then `response`, and returns the last step.
    private func answer(_ response: String, _ context: SASLServerContext) -> SASLStep {
        answer(Array(response.utf8), context)
    }

    private func answer(_ response: [UInt8], _ context: SASLServerContext) -> SASLStep {
        var mechanism = CRAMMD5Mechanism(context: context, challenge: rfcChallenge)
        guard mechanism.step(nil) == .challenge(rfcChallenge) else { return .challenge([]) }
        return mechanism.step(response)
    }

    /// The digest a client computes for `password` over the RFC challenge.
    private func digest(_ password: String) -> String {
        Hex.encode(HashAlgorithm.md5.hmac(key: Array(password.utf8), rfcChallenge))
    }

    private func isMalformed(_ step: SASLStep) -> Bool {
        if case .failure(.malformed) = step { return true }
        return false
    }

    // MARK: RFC 2195 and Cyrus secrets

    func testRFC2195ExampleFromPlaintext() throws {
        let context = try MechanismFixture(users: [("tim", rfcPassword, .cyrusDefault)]).context
        XCTAssertEqual(answer("tim \(rfcDigest)", context), .success(AuthenticatedIdentity(user: tim)))
    }

    func testRFC2195ExampleFromCRAMStateAlone() throws {
        let fixture = try MechanismFixture(users: [("tim", rfcPassword, SecretPolicy(plaintext: false, cramMD5: true))])
        let secrets = try fixture.store.secrets(of: tim)
        XCTAssertNil(secrets.plaintext)
        XCTAssertEqual(
            secrets.cramMD5.map { Hex.encode($0.bytes) },
            "5211b25404b61f715e033eca6b1115701b4e6dd0a4cafc260118b6b0a3402313"
        )
        XCTAssertEqual(answer("tim \(rfcDigest)", fixture.context), .success(AuthenticatedIdentity(user: tim)))
    }

    func testKeyLongerThanOneBlockWorksFromPlaintextAndFromState() throws {
        let password = String(repeating: "x", count: 70)
        let fromState = try MechanismFixture(users: [("dave", password, SecretPolicy(plaintext: false, cramMD5: true))])
        let fromPlaintext = try MechanismFixture(users: [("dave", password, .cyrusDefault)])
        let dave = try fromState.user("dave")
        XCTAssertEqual(
            try fromState.store.secrets(of: dave).cramMD5.map { Hex.encode($0.bytes) },
            "3d16e7ebaf0174ffd416aab51f9fcfed3abb0381a9964b2a4ece9cca228dccfe"
        )
        for context in [fromState.context, fromPlaintext.context] {
            XCTAssertEqual(answer("dave \(digest(password))", context), .success(AuthenticatedIdentity(user: dave)))
        }
    }

    func testPlaintextTakesPriorityOverCRAMStateAsInCyrus() throws {
        let fixture = try MechanismFixture()
        try fixture.putRecords(
            [.userPassword: Array("pwA".utf8), .cramMD5: CRAMMD5State(password: Array("pwB".utf8)).bytes],
            for: "tim"
        )
        XCTAssertEqual(answer("tim \(digest("pwA"))", fixture.context), .success(AuthenticatedIdentity(user: tim)))
        XCTAssertEqual(answer("tim \(digest("pwB"))", fixture.context), authFailed)
    }

    // MARK: Identical failures

    func testWrongPasswordUnknownDisabledAndUnusableUsersFailIdentically() throws {
        let fixture = try MechanismFixture(users: [
            ("tim", rfcPassword, .cyrusDefault),
            ("bob", rfcPassword, .cyrusDefault),
            (
                "scram", rfcPassword,
                SecretPolicy(plaintext: false, scram: .sha256, scramIterations: testSCRAMIterations)
            ),
        ])
        try fixture.disable("bob")
        let wrongPassword = answer("tim \(digest("tanstaaf"))", fixture.context)
        XCTAssertEqual(wrongPassword, authFailed)
        XCTAssertEqual(answer("carol \(rfcDigest)", fixture.context), wrongPassword)
        XCTAssertEqual(answer("bob \(rfcDigest)", fixture.context), wrongPassword)
        XCTAssertEqual(answer("scram \(rfcDigest)", fixture.context), wrongPassword)
    }

    func testUnreadableStoreIsTemporaryFailure() {
        let context = SASLServerContext(lookup: UnreadableCredentialLookup(), hostName: "mail.example.org")
        guard case .failure(.temporary) = answer("tim \(rfcDigest)", context) else {
            return XCTFail("expected a temporary failure")
        }
    }

    // MARK: Challenge

    func testChallengeIsRandomDotTimeAtHost() throws {
        var mechanism = CRAMMD5Mechanism(context: try MechanismFixture().context)
        guard case .challenge(let bytes) = mechanism.step(nil) else { return XCTFail("expected a challenge") }
        let text = String(decoding: bytes, as: UTF8.self)
        let suffix = "@\(MechanismFixture.hostName)>"
        XCTAssertTrue(text.hasPrefix("<") && text.hasSuffix(suffix), text)
        let inner = text.dropFirst().dropLast(suffix.count).split(separator: ".", omittingEmptySubsequences: false)
        XCTAssertEqual(inner.count, 2, text)
        XCTAssertNotNil(UInt64(inner[0]), text)
        let seconds = try XCTUnwrap(Int(inner[1]), text)
        XCTAssertLessThan(abs(seconds - Int(Date().timeIntervalSince1970)), 60)
    }

    func testFreshChallengesDifferBetweenAttempts() throws {
        let context = try MechanismFixture().context
        var first = CRAMMD5Mechanism(context: context)
        var second = CRAMMD5Mechanism(context: context)
        let challenges = [first.step(nil), second.step(nil)]
        XCTAssertNotEqual(challenges[0], challenges[1])
        let many = Set((0..<200).map { _ in CRAMMD5Mechanism(context: context).challenge })
        XCTAssertEqual(many.count, 200)
    }

    func testInitialResponseIsMalformed() throws {
        let context = try MechanismFixture(users: [("tim", rfcPassword, .cyrusDefault)]).context
        var withData = CRAMMD5Mechanism(context: context, challenge: rfcChallenge)
        XCTAssertTrue(isMalformed(withData.step(Array("tim \(rfcDigest)".utf8))))
        XCTAssertTrue(isMalformed(withData.step(Array("tim \(rfcDigest)".utf8))))
        var empty = CRAMMD5Mechanism(context: context, challenge: rfcChallenge)
        XCTAssertTrue(isMalformed(empty.step([])))
    }

    // MARK: Response syntax

    func testResponsesWithoutSpaceOrUserAreMalformed() throws {
        let context = try MechanismFixture(users: [("tim", rfcPassword, .cyrusDefault)]).context
        XCTAssertTrue(isMalformed(answer("tim\(rfcDigest)", context)))
        XCTAssertTrue(isMalformed(answer(" \(rfcDigest)", context)))
        XCTAssertTrue(isMalformed(answer("", context)))
        XCTAssertTrue(isMalformed(answer("tim ", context)))
    }

    func testDigestMustBe32LowercaseHexDigits() throws {
        let context = try MechanismFixture(users: [("tim", rfcPassword, .cyrusDefault)]).context
        let bad = [
            rfcDigest.uppercased(),
            String(rfcDigest.dropLast()),
            rfcDigest + "0",
            String(rfcDigest.dropLast()) + "g",
            String(rfcDigest.dropLast()) + " ",
            String(rfcDigest.dropLast()) + "\u{0}",
        ]
        for digest in bad {
            XCTAssertTrue(isMalformed(answer("tim \(digest)", context)), digest)
        }
    }

    func testDigestIsTheTextAfterTheLastSpace() throws {
        let context = try MechanismFixture(users: [("tim smith", rfcPassword, .cyrusDefault)]).context
        let timSmith = UserID(authid: Array("tim smith".utf8), realm: Array("example.org".utf8))
        XCTAssertEqual(answer("tim smith \(rfcDigest)", context), .success(AuthenticatedIdentity(user: timSmith)))
    }

    func testInvalidUserNameIsMalformed() throws {
        let context = try MechanismFixture().context
        XCTAssertTrue(isMalformed(answer([0xff] + Array(" \(rfcDigest)".utf8), context)))
        XCTAssertTrue(isMalformed(answer("@example.org \(rfcDigest)", context)))
    }

    func testHugeResponseIsTooLong() throws {
        let context = try MechanismFixture().context
        let limit = SASLStep.failure(.tooLong(limit: CRAMMD5Mechanism.maximumResponseLength))
        XCTAssertEqual(answer(String(repeating: "a", count: 1 << 20) + " \(rfcDigest)", context), limit)
        let name = String(repeating: "a", count: CRAMMD5Mechanism.maximumResponseLength - 32)
        XCTAssertEqual(answer("\(name) \(rfcDigest)", context), limit)
    }

    func testStepsAfterTheEndAreMalformed() throws {
        let context = try MechanismFixture(users: [("tim", rfcPassword, .cyrusDefault)]).context
        var mechanism = CRAMMD5Mechanism(context: context, challenge: rfcChallenge)
        XCTAssertEqual(mechanism.step(nil), .challenge(rfcChallenge))
        XCTAssertEqual(mechanism.step(Array("tim \(rfcDigest)".utf8)), .success(AuthenticatedIdentity(user: tim)))
        XCTAssertTrue(isMalformed(mechanism.step(Array("tim \(rfcDigest)".utf8))))

        var missing = CRAMMD5Mechanism(context: context, challenge: rfcChallenge)
        XCTAssertEqual(missing.step(nil), .challenge(rfcChallenge))
        XCTAssertTrue(isMalformed(missing.step(nil)))
    }

    // MARK: Names

    func testLoginWithAndWithoutRealmReachTheSameUser() throws {
        let context = try MechanismFixture(users: [("tim", rfcPassword, .cyrusDefault)]).context
        XCTAssertEqual(answer("tim \(rfcDigest)", context), .success(AuthenticatedIdentity(user: tim)))
        XCTAssertEqual(answer("tim@example.org \(rfcDigest)", context), .success(AuthenticatedIdentity(user: tim)))
        XCTAssertEqual(answer("tim@other.example \(rfcDigest)", context), authFailed)
    }
}
