import SASLDB
import SASLMechanisms
import XCTest

@testable import SMTPSubmission

/// AUTH (RFC 4954): sequence, mechanisms, base64, cancel, failures, pauses and logs.
final class SMTPSessionAuthenticationTests: XCTestCase {
    private let password = SessionFixture.password

    private func tlsDriver(_ configuration: SMTPSessionConfiguration? = nil) throws -> SessionDriver {
        var driver = SessionDriver(try configuration ?? SessionFixture.configuration())
        driver.establishTLS()
        return driver
    }

    // MARK: Success

    func testAUTHPLAINWithInitialResponseSucceeds() throws {
        var driver = try tlsDriver()
        let reply = driver.reply(to: "AUTH PLAIN " + SessionFixture.plain("alice", password))
        XCTAssertEqual(reply?.description, "235 2.7.0 Authentication successful\r\n")
        XCTAssertEqual(driver.session.authenticatedUser?.description, "alice@example.org")
        XCTAssertReply(driver.reply(to: "MAIL FROM:<alice@example.org>"), 250, "2.1.0")
    }

    func testAUTHPLAINWithoutInitialResponseGetsAnEmptyChallenge() throws {
        var driver = try tlsDriver()
        XCTAssertEqual(driver.send("AUTH PLAIN").replies.map(\.description), ["334 \r\n"])
        XCTAssertEqual(driver.session.maximumLineLength, 12_286)
        XCTAssertReply(driver.reply(to: SessionFixture.plain("alice@example.org", password)), 235, "2.7.0")
    }

    func testAUTHLOGINPromptsInBase64() throws {
        var driver = try tlsDriver()
        XCTAssertEqual(driver.reply(to: "AUTH LOGIN")?.description, "334 VXNlcm5hbWU6\r\n")
        XCTAssertEqual(driver.reply(to: SessionFixture.base64("alice"))?.description, "334 UGFzc3dvcmQ6\r\n")
        XCTAssertReply(driver.reply(to: SessionFixture.base64(password)), 235, "2.7.0")
    }

    func testAUTHCRAMMD5AsInTheSeedTranscript() throws {
        var driver = try tlsDriver()
        guard let challengeText = driver.reply(to: "AUTH CRAM-MD5")?.lines.first,
            let challenge = Base64.decode(challengeText)
        else { return XCTFail("no challenge") }
        XCTAssertTrue(String(decoding: challenge, as: UTF8.self).hasSuffix("@mail.example.org>"))
        let digest = Hex.encode(HashAlgorithm.md5.hmac(key: Array(password.utf8), challenge))
        XCTAssertReply(driver.reply(to: SessionFixture.base64("alice " + digest)), 235, "2.7.0")
    }

    func testEqualsSignIsTheEmptyInitialResponse() throws {
        var driver = try tlsDriver()
        driver.runsSASLSteps = false
        XCTAssertEqual(driver.send("AUTH PLAIN =").saslRequests.first?.response, [])
    }

    func testNoInitialResponseIsNilNotEmpty() throws {
        var driver = try tlsDriver()
        driver.runsSASLSteps = false
        let requests = driver.send("AUTH LOGIN").saslRequests
        XCTAssertEqual(requests.count, 1)
        XCTAssertNil(requests.first?.response)
    }

    // MARK: Sequence

    func testAUTHBeforeEHLOIsABadSequence() throws {
        var driver = SessionDriver(try SessionFixture.configuration(), isTLS: true)
        driver.start()
        XCTAssertReply(driver.reply(to: "AUTH PLAIN " + SessionFixture.plain("alice", password)), 503, "5.5.1")
    }

    func testAUTHAfterHELOIsABadSequence() throws {
        var driver = SessionDriver(try SessionFixture.configuration(), isTLS: true)
        driver.start()
        driver.send("HELO client.example")
        XCTAssertReply(driver.reply(to: "AUTH PLAIN " + SessionFixture.plain("alice", password)), 503, "5.5.1")
    }

    func testAUTHTwiceIsABadSequence() throws {
        var driver = try tlsDriver()
        driver.send("AUTH PLAIN " + SessionFixture.plain("alice", password))
        let reply = driver.reply(to: "AUTH PLAIN " + SessionFixture.plain("bob", SessionFixture.bobPassword))
        XCTAssertReply(reply, 503, "5.5.1")
        XCTAssertEqual(driver.session.authenticatedUser?.description, "alice@example.org")
    }

    func testAUTHInsideATransactionIsABadSequence() throws {
        var driver = try tlsDriver()
        driver.send("AUTH PLAIN " + SessionFixture.plain("alice", password))
        driver.send("MAIL FROM:<alice@example.org>")
        XCTAssertReply(driver.reply(to: "AUTH LOGIN"), 503, "5.5.1")
    }

    func testEHLOAfterAUTHNoLongerOffersAUTH() throws {
        var driver = try tlsDriver()
        driver.send("AUTH PLAIN " + SessionFixture.plain("alice", password))
        let lines = driver.reply(to: "EHLO client.example")?.lines ?? []
        XCTAssertFalse(lines.contains { $0.hasPrefix("AUTH") })
        XCTAssertNotNil(driver.session.authenticatedUser)
    }

    func testAUTHBeforeSTARTTLSOnASubmissionListenerIs530() throws {
        var driver = try SessionDriver()
        driver.start()
        driver.send("EHLO client.example")
        let actions = driver.send("AUTH PLAIN " + SessionFixture.plain("alice", password))
        XCTAssertReply(actions.replies.last, 530, "5.7.0")
        XCTAssertTrue(actions.saslRequests.isEmpty)
    }

    func testMechanismNotAllowedInTheClearIs538() throws {
        var driver = SessionDriver(
            try SessionFixture.configuration(
                requiresTLS: false,
                mechanisms: MechanismPolicy(enabled: ["CRAM-MD5", "PLAIN"], allowedWithoutTLS: ["CRAM-MD5"])
            )
        )
        driver.start()
        driver.send("EHLO client.example")
        XCTAssertReply(driver.reply(to: "AUTH PLAIN " + SessionFixture.plain("alice", password)), 538, "5.7.11")
        XCTAssertEqual(driver.reply(to: "AUTH CRAM-MD5")?.code, 334)
    }

    func testUnknownOrDisabledMechanismIs504() throws {
        var driver = try tlsDriver(try SessionFixture.configuration(mechanisms: MechanismPolicy(enabled: ["PLAIN"])))
        XCTAssertReply(driver.reply(to: "AUTH GSSAPI"), 504, "5.5.4")
        XCTAssertReply(driver.reply(to: "AUTH LOGIN"), 504, "5.5.4")
        XCTAssertReply(driver.reply(to: "AUTH XOAUTH2 abc="), 504, "5.5.4")
    }

    func testSCRAMPlusIsNotOfferedWithoutChannelBindings() throws {
        let mechanisms = MechanismPolicy(enabled: ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "PLAIN"])
        var driver = try tlsDriver(try SessionFixture.configuration(mechanisms: mechanisms))
        XCTAssertTrue(driver.actions.replies.last?.lines.contains("AUTH SCRAM-SHA-256 PLAIN") ?? false)
        XCTAssertReply(driver.reply(to: "AUTH SCRAM-SHA-256-PLUS"), 504, "5.5.4")

        var bound = SessionDriver(try SessionFixture.configuration(mechanisms: mechanisms))
        bound.start()
        bound.send("EHLO client.example")
        bound.send("STARTTLS")
        bound.process(bound.session.tlsEstablished(channelBindings: [.tlsExporter(Array(repeating: 7, count: 32))]))
        let lines = bound.reply(to: "EHLO client.example")?.lines ?? []
        XCTAssertTrue(lines.contains("AUTH SCRAM-SHA-256-PLUS SCRAM-SHA-256 PLAIN"), "\(lines)")
    }

    // MARK: Base64 and cancel

    func testBadBase64InitialResponseIs501() throws {
        var driver = try tlsDriver()
        for response in ["not*base64", "YWJ=", "YWJjZA", "YWJjZA==="] {
            XCTAssertReply(driver.reply(to: "AUTH PLAIN " + response), 501, "5.5.2")
        }
        XCTAssertNil(driver.session.authenticatedUser)
    }

    func testBadBase64ResponseEndsTheExchangeWith501() throws {
        var driver = try tlsDriver()
        driver.send("AUTH LOGIN")
        XCTAssertReply(driver.reply(to: "!!!"), 501, "5.5.2")
        // The exchange is over: the next line is a command again.
        XCTAssertReply(driver.reply(to: "NOOP"), 250, "2.0.0")
    }

    func testStarCancelsTheExchangeWith501() throws {
        var driver = try tlsDriver()
        driver.send("AUTH LOGIN")
        driver.send(SessionFixture.base64("alice"))
        let actions = driver.send("*")
        XCTAssertEqual(actions.replies.map(\.description), ["501 5.0.0 Authentication cancelled\r\n"])
        XCTAssertTrue(actions.authFailures.isEmpty)
        XCTAssertEqual(actions.logEvents.first?.metadata["auth.result"], "cancelled")
        // A fresh mechanism runs for the next AUTH.
        XCTAssertReply(driver.reply(to: "AUTH PLAIN " + SessionFixture.plain("alice", password)), 235, "2.7.0")
    }

    func testOverlongResponseLineEndsTheExchangeWith500() throws {
        var driver = try tlsDriver()
        driver.send("AUTH PLAIN")
        XCTAssertReply(driver.process(driver.session.lineTooLong()).replies.last, 500, "5.5.6")
        XCTAssertReply(driver.reply(to: "NOOP"), 250, "2.0.0")
    }

    func testResponseOverTheMechanismBoundIs500AndCounts() throws {
        var driver = try tlsDriver()
        let huge = String(repeating: "p", count: PlainMechanism.maximumMessageLength)
        let actions = driver.send("AUTH PLAIN " + SessionFixture.plain("alice", huge))
        XCTAssertReply(actions.replies.last, 500, "5.5.6")
        XCTAssertEqual(actions.authFailures.count, 1)
    }

    func testAUTHLineMayBeLongerThanOtherCommands() throws {
        var driver = try tlsDriver()
        let longPassword = String(repeating: "q", count: 600)
        let line = "AUTH PLAIN " + SessionFixture.plain("alice", longPassword)
        XCTAssertGreaterThan(line.utf8.count, 510)
        XCTAssertReply(driver.reply(to: line), 535, "5.7.8")
    }

    // MARK: Failures

    func testWrongPasswordIs535AndIsRecordedWithAFingerprint() throws {
        var driver = try tlsDriver()
        let actions = driver.send("AUTH PLAIN " + SessionFixture.plain("alice", "wrong"))
        XCTAssertEqual(actions.replies.map(\.description), ["535 5.7.8 Authentication credentials invalid\r\n"])
        XCTAssertEqual(actions.authFailures.count, 1)
        XCTAssertEqual(actions.authFailures.first?.user, "alice@example.org")
        XCTAssertEqual(actions.authFailures.first?.credential?.count, 32)
        XCTAssertNil(driver.session.authenticatedUser)
    }

    func testFingerprintIsStableForARetryAndDiffersForAnotherPassword() throws {
        var driver = try tlsDriver()
        let first = driver.send("AUTH PLAIN " + SessionFixture.plain("alice", "wrong")).authFailures.first?.credential
        let retry = driver.send("AUTH PLAIN " + SessionFixture.plain("alice", "wrong")).authFailures.first?.credential
        var other = try tlsDriver()
        let different = other.send("AUTH PLAIN " + SessionFixture.plain("alice", "wrong2")).authFailures.first?
            .credential
        XCTAssertNotNil(first)
        XCTAssertEqual(first, retry)
        XCTAssertNotEqual(first, different)
        XCTAssertNotEqual(first, Array(HashAlgorithm.sha256.digest(Array("alice\u{0}wrong".utf8))))
    }

    func testLOGINFailureIsFingerprintedLikePLAIN() throws {
        var driver = try tlsDriver()
        driver.send("AUTH LOGIN")
        driver.send(SessionFixture.base64("alice"))
        let login = driver.send(SessionFixture.base64("wrong")).authFailures.first
        let plain = driver.send("AUTH PLAIN " + SessionFixture.plain("alice", "wrong")).authFailures.first
        XCTAssertEqual(login?.user, "alice@example.org")
        XCTAssertNotNil(login?.credential)
        XCTAssertEqual(login?.credential, plain?.credential)
    }

    func testCRAMMD5FailureNamesTheUserWithoutAFingerprint() throws {
        var driver = try tlsDriver()
        driver.send("AUTH CRAM-MD5")
        let failure = driver.send(SessionFixture.base64("alice 00112233445566778899aabbccddeeff")).authFailures.first
        XCTAssertEqual(failure?.user, "alice@example.org")
        XCTAssertNil(failure?.credential)
    }

    func testPausesGrowAndTheConnectionClosesAfterTheLimit() throws {
        var driver = try tlsDriver()
        var pauses: [Int] = []
        for attempt in 1...3 {
            let actions = driver.send("AUTH PLAIN " + SessionFixture.plain("alice", "guess\(attempt)"))
            pauses += actions.pauses
            XCTAssertEqual(actions.replies.first?.code, 535)
            XCTAssertEqual(actions.closes, attempt == 3)
            if attempt == 3 { XCTAssertReply(actions.replies.last, 421, "4.7.0") }
        }
        XCTAssertEqual(pauses, [1000, 2000, 4000])
        XCTAssertTrue(driver.session.isClosed)
        XCTAssertTrue(driver.send("AUTH PLAIN " + SessionFixture.plain("alice", password)).isEmpty)
    }

    func testPauseComesBeforeTheFailureReply() throws {
        var driver = try tlsDriver()
        let actions = driver.send("AUTH PLAIN " + SessionFixture.plain("alice", "wrong"))
        let pauseIndex = actions.firstIndex {
            if case .pause = $0 { return true }
            return false
        }
        let replyIndex = actions.firstIndex {
            if case .send = $0 { return true }
            return false
        }
        XCTAssertNotNil(pauseIndex)
        XCTAssertLessThan(pauseIndex ?? .max, replyIndex ?? .min)
    }

    func testPauseIsCappedAtTheMaximum() {
        var limits = SMTPLimits()
        limits.authFailureDelay = .milliseconds(1500)
        limits.authFailureDelayGrowth = 10
        limits.authFailureDelayMaximum = .seconds(20)
        XCTAssertEqual(limits.authFailurePauseMilliseconds(afterFailure: 1), 1500)
        XCTAssertEqual(limits.authFailurePauseMilliseconds(afterFailure: 2), 15_000)
        XCTAssertEqual(limits.authFailurePauseMilliseconds(afterFailure: 3), 20_000)
        XCTAssertEqual(limits.authFailurePauseMilliseconds(afterFailure: 1000), 20_000)
    }

    func testFailuresBeforeSTARTTLSStillCountAfterIt() throws {
        var limits = SMTPLimits()
        limits.failedAuthPerConnection = 2
        var driver = SessionDriver(
            try SessionFixture.configuration(
                requiresTLS: false,
                mechanisms: MechanismPolicy(enabled: ["PLAIN"], allowedWithoutTLS: ["PLAIN"]),
                limits: limits
            )
        )
        driver.start()
        driver.send("EHLO client.example")
        driver.send("AUTH PLAIN " + SessionFixture.plain("alice", "wrong"))
        driver.send("STARTTLS")
        driver.process(driver.session.tlsEstablished(channelBindings: []))
        driver.send("EHLO client.example")
        XCTAssertTrue(driver.send("AUTH PLAIN " + SessionFixture.plain("alice", "wrong")).closes)
    }

    func testUnreadableStoreIs454AndDoesNotCount() throws {
        struct Unreadable: CredentialLookup {
            struct ReadError: Error {}
            func secrets(for user: UserID) throws -> UserSecrets { throw ReadError() }
            var secretPolicy: SecretPolicy { .cyrusDefault }
        }
        let context = SASLServerContext(lookup: Unreadable(), hostName: SessionFixture.hostName)
        var driver = try tlsDriver(try SessionFixture.configuration(context: context))
        for _ in 1...4 {
            let actions = driver.send("AUTH PLAIN " + SessionFixture.plain("alice", password))
            XCTAssertReply(actions.replies.last, 454, "4.7.0")
            XCTAssertTrue(actions.authFailures.isEmpty)
            XCTAssertFalse(actions.closes)
        }
    }

    func testUnknownUserFailsLikeAWrongPassword() throws {
        var driver = try tlsDriver()
        XCTAssertEqual(
            driver.send("AUTH PLAIN " + SessionFixture.plain("mallory", "x")).replies,
            driver.send("AUTH PLAIN " + SessionFixture.plain("alice", "x")).replies
        )
    }

    func testStepCompletionOutsideAnExchangeIsIgnored() throws {
        var driver = try tlsDriver()
        let mechanism = PlainMechanism(context: try SessionFixture.context())
        let actions = driver.session.saslStepCompleted(
            mechanism: mechanism,
            step: .success(AuthenticatedIdentity(user: SessionFixture.user("alice")))
        )
        XCTAssertTrue(actions.replies.isEmpty)
        XCTAssertNil(driver.session.authenticatedUser)
    }

    func testInputWhileAStepRunsIsIgnored() throws {
        var driver = try tlsDriver()
        driver.runsSASLSteps = false
        guard let request = driver.send("AUTH PLAIN " + SessionFixture.plain("alice", password)).saslRequests.first
        else { return XCTFail("no step") }
        XCTAssertTrue(driver.send("MAIL FROM:<alice@example.org>").replies.isEmpty)
        var mechanism = request.mechanism
        let step = mechanism.step(request.response)
        XCTAssertReply(driver.session.saslStepCompleted(mechanism: mechanism, step: step).replies.last, 235, "2.7.0")
    }

    // MARK: Logs

    func testEachAUTHResultIsLoggedOnceWithItsFields() throws {
        var driver = try tlsDriver()
        let failure = driver.send("AUTH PLAIN " + SessionFixture.plain("alice", "wrong")).logEvents
        let success = driver.send("AUTH PLAIN " + SessionFixture.plain("alice", password)).logEvents
        XCTAssertEqual(failure.count, 1)
        XCTAssertEqual(success.count, 1)
        XCTAssertEqual(failure.first?.message, "auth")
        XCTAssertEqual(failure.first?.level, .notice)
        XCTAssertEqual(failure.first?.metadata["auth.result"], "failure")
        XCTAssertEqual(failure.first?.metadata["sasl.user"], "alice")
        XCTAssertEqual(failure.first?.metadata["auth.failures"], "1")
        XCTAssertEqual(success.first?.metadata["auth.result"], "success")
        XCTAssertEqual(success.first?.metadata["sasl.user"], "alice@example.org")
        XCTAssertEqual(success.first?.metadata["sasl.mechanism"], "PLAIN")
        XCTAssertEqual(success.first?.metadata["client.address"], "192.0.2.7")
        XCTAssertEqual(success.first?.metadata["smtp.session"], "TESTSESSION")
        XCTAssertEqual(success.first?.metadata["smtp.tls"], "yes")
    }

    func testNoLogEventOrFailureRecordContainsThePassword() throws {
        let plainBlob = SessionFixture.plain("alice", password)
        var driver = try tlsDriver()
        driver.send("AUTH PLAIN " + SessionFixture.plain("alice", password + "x"))
        driver.send("AUTH PLAIN " + plainBlob)
        var second = try tlsDriver()
        second.send("AUTH LOGIN")
        second.send(SessionFixture.base64("alice"))
        second.send(SessionFixture.base64(password + "y"))
        second.send("AUTH LOGIN")
        second.send(SessionFixture.base64("alice@example.org"))
        second.send("*")
        second.send("AUTH PLAIN")
        second.send(plainBlob)
        second.submit()

        let actions = driver.actions + second.actions
        XCTAssertGreaterThanOrEqual(actions.logEvents.filter { $0.message == "auth" }.count, 5)
        var texts: [String] = []
        for event in actions.logEvents { texts += [event.message] + event.metadata.keys + event.metadata.values }
        for failure in actions.authFailures { texts += [failure.user ?? ""] }
        let secrets = [password, plainBlob, SessionFixture.base64(password), SessionFixture.base64(password + "y")]
        for text in texts {
            for secret in secrets {
                XCTAssertFalse(text.contains(secret), "log text \(text) contains a secret")
            }
            XCTAssertFalse(text.contains("Tr0ub4dor"), "log text \(text) contains part of the password")
        }
    }

    func testControlCharactersInALoginNameAreEscapedInTheLog() throws {
        var driver = try tlsDriver()
        let events = driver.send("AUTH PLAIN " + SessionFixture.plain("eve\nforged=1", "x")).logEvents
        XCTAssertEqual(events.first?.metadata["sasl.user"], "eve\\x0aforged=1")
    }

    // MARK: SCRAM start, then cancel

    /// The SCRAM client-first message of `user`, as `AUTH SCRAM-SHA-256 <base64>`.
    private func scramStart(_ user: String) -> String {
        "AUTH SCRAM-SHA-256 " + SessionFixture.base64("n,,n=\(user),r=fyko+d2lbbFgONRv9qkxdawL")
    }

    private func scramDriver() throws -> SessionDriver {
        try tlsDriver(SessionFixture.configuration(mechanisms: MechanismPolicy(enabled: ["SCRAM-SHA-256", "PLAIN"])))
    }

    /// The server did a lookup (and, for a plaintext user, a PBKDF2) for the first message: a cancel then is a failed
    /// attempt, paused, recorded for the account, and the third closes the connection.
    func testCancellingSCRAMAfterItsFirstMessageCountsAsAFailure() throws {
        var driver = try scramDriver()
        for attempt in 1...3 {
            XCTAssertEqual(driver.send(scramStart("alice")).replies.first?.code, 334)
            let actions = driver.send("*")
            XCTAssertEqual(actions.replies.first?.description, "501 5.0.0 Authentication cancelled\r\n")
            XCTAssertEqual(actions.authFailures.map(\.user), ["alice@example.org"], "attempt \(attempt)")
            XCTAssertEqual(actions.pauses.count, 1)
            XCTAssertEqual(actions.logEvents.first?.metadata["auth.result"], "cancelled")
            XCTAssertEqual(actions.closes, attempt == 3)
        }
        XCTAssertTrue(driver.session.isClosed)
    }

    /// Unknown names cost a lookup too, and count the same: a name probe gains nothing from cancelling.
    func testCancellingSCRAMForAnUnknownNameCountsTheSame() throws {
        var driver = try scramDriver()
        XCTAssertEqual(driver.send(scramStart("nobody")).replies.first?.code, 334)
        let actions = driver.send("*")
        XCTAssertEqual(actions.authFailures.map(\.user), ["nobody@example.org"])
        XCTAssertEqual(actions.pauses.count, 1)
    }

    /// A cancel before any lookup (the empty challenge of SCRAM, LOGIN's password prompt) is an error, not a failure.
    func testACancelBeforeAnyLookupCountsAsAnError() throws {
        var driver = try tlsDriver(
            SessionFixture.configuration(
                mechanisms: MechanismPolicy(enabled: ["SCRAM-SHA-256", "LOGIN"]),
                limits: SMTPLimits(errorsPerConnection: 2)
            )
        )
        XCTAssertEqual(driver.send("AUTH SCRAM-SHA-256").replies.first?.description, "334 \r\n")
        let first = driver.send("*")
        XCTAssertReply(first.replies.first, 501, "5.0.0")
        XCTAssertTrue(first.authFailures.isEmpty)
        XCTAssertFalse(first.closes)
        driver.send("AUTH LOGIN")
        driver.send(SessionFixture.base64("alice"))
        let second = driver.send("*")
        XCTAssertTrue(second.authFailures.isEmpty)
        XCTAssertTrue(second.closes, "the second error reaches the error limit")
    }

    /// Failures are recorded under the account the login names, whatever form the login took.
    func testAFailureIsRecordedForTheAccountTheLoginNames() throws {
        var driver = try tlsDriver()
        let bare = driver.send("AUTH PLAIN " + SessionFixture.plain("alice", "wrong-1"))
        let full = driver.send("AUTH PLAIN " + SessionFixture.plain("alice@example.org", "wrong-2"))
        XCTAssertEqual(bare.authFailures.map(\.user), ["alice@example.org"])
        XCTAssertEqual(full.authFailures.map(\.user), ["alice@example.org"])
    }
}
