import Logging
import NIOCore
import NIOEmbedded
import NIOPosix
import SASLDB
import SASLMechanisms
import ServerKit
import XCTest

@testable import SMTPSubmission

final class SMTPServerHandlerTests: XCTestCase {
    private var logs = RecordingLogHandler.Store()

    override func setUp() {
        logs = RecordingLogHandler.Store()
    }

    /// A connected channel whose session needs no TLS (PLAIN and LOGIN allowed in the clear).
    private func makeChannel(
        limits: SMTPLimits = SMTPLimits(),
        tracker: AuthFailureTracker? = nil,
        accountTracker: AuthFailureTracker? = nil,
        commandTimeout: TimeAmount = .seconds(300),
        requiresTLS: Bool = false,
        threadPool: NIOThreadPool? = nil
    ) throws -> EmbeddedChannel {
        let configuration = try SMTPSessionConfiguration.serverTest(
            requiresTLS: requiresTLS,
            limits: limits,
            allowedWithoutTLS: ["PLAIN", "LOGIN", "CRAM-MD5"]
        )
        return try HandlerTestChannel.connected(
            configuration: configuration,
            logger: RecordingLogHandler.logger(logs),
            authFailures: tracker,
            accountFailures: accountTracker,
            threadPool: threadPool,
            commandTimeout: commandTimeout
        )
    }

    private func send(_ channel: EmbeddedChannel, _ text: String) throws {
        try channel.writeInbound(channel.allocator.buffer(string: text))
    }

    /// Every write the handler made, one string per write.
    private func writes(_ channel: EmbeddedChannel) throws -> [String] {
        var writes: [String] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
            if buffer.readableBytes > 0 { writes.append(String(buffer: buffer)) }
        }
        return writes
    }

    private func replies(_ channel: EmbeddedChannel) throws -> String {
        try writes(channel).joined()
    }

    func testGreetingIsSentOnConnect() throws {
        let channel = try makeChannel()
        XCTAssertEqual(try writes(channel), ["220 mail.example.org ESMTP\r\n"])
    }

    func testPipelinedCommandsAreAnsweredInOneWrite() throws {
        let channel = try makeChannel()
        _ = try writes(channel)
        try send(channel, "EHLO client.example\r\nNOOP\r\nRSET\r\nNOOP\r\n")
        let written = try writes(channel)
        XCTAssertEqual(written.count, 1, "\(written)")
        XCTAssertTrue(written[0].hasPrefix("250-mail.example.org\r\n"))
        XCTAssertTrue(written[0].hasSuffix("250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n"), written[0])
    }

    func testCommandFedOneByteAtATimeIsAnsweredOnce() throws {
        let channel = try makeChannel()
        _ = try writes(channel)
        for byte in "NOOP\r\n".utf8 {
            try channel.writeInbound(channel.allocator.buffer(bytes: [byte]))
        }
        XCTAssertEqual(try writes(channel), ["250 2.0.0 Ok\r\n"])
    }

    func testOverlongCommandIsRefusedAndTheSessionGoesOn() throws {
        let channel = try makeChannel()
        _ = try writes(channel)
        try send(channel, "NOOP " + String(repeating: "x", count: 20_000) + "\r\nNOOP\r\n")
        XCTAssertEqual(try replies(channel), "500 5.5.6 Line too long\r\n250 2.0.0 Ok\r\n")
        XCTAssertTrue(channel.isActive)
    }

    func testBareLineFeedInACommandIsRefused() throws {
        let channel = try makeChannel()
        _ = try writes(channel)
        try send(channel, "NOOP\nNOOP\r\n")
        XCTAssertEqual(
            try replies(channel),
            "500 5.5.2 Syntax error, bare CR or LF: lines end with CRLF\r\n250 2.0.0 Ok\r\n"
        )
    }

    func testQuitClosesAfterTheReply() throws {
        let channel = try makeChannel()
        _ = try writes(channel)
        try send(channel, "QUIT\r\nNOOP\r\n")
        XCTAssertEqual(try replies(channel), "221 2.0.0 Bye\r\n")
        channel.embeddedEventLoop.run()
        XCTAssertFalse(channel.isActive)
    }

    func testIdleClientIsClosedAfterTheCommandTimeout() throws {
        let channel = try makeChannel(commandTimeout: .seconds(30))
        _ = try writes(channel)
        channel.embeddedEventLoop.advanceTime(by: .seconds(29))
        XCTAssertTrue(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        XCTAssertEqual(try replies(channel), "421 4.4.2 mail.example.org Error: timeout exceeded\r\n")
        channel.embeddedEventLoop.run()
        XCTAssertFalse(channel.isActive)
    }

    func testClientSilentAfterAnAUTHChallengeIsClosedAfterTheCommandTimeout() throws {
        let channel = try makeChannel(commandTimeout: .seconds(30))
        _ = try writes(channel)
        try send(channel, "EHLO c\r\nAUTH CRAM-MD5\r\n")
        XCTAssertTrue(try replies(channel).contains("\r\n334 "))
        channel.embeddedEventLoop.advanceTime(by: .seconds(31))
        XCTAssertEqual(try replies(channel), "421 4.4.2 mail.example.org Error: timeout exceeded\r\n")
    }

    func testOnlyStepsThatReadTheStoreGoToTheThreadPool() throws {
        // A pool never started refuses all work: the challenge still comes, the answer's lookup fails with 454.
        let channel = try makeChannel(threadPool: NIOThreadPool(numberOfThreads: 1))
        _ = try writes(channel)
        try send(channel, "EHLO c\r\nAUTH CRAM-MD5\r\n")
        XCTAssertTrue(try replies(channel).contains("\r\n334 "))
        try send(channel, "\(Base64Text.encode(Array("alice 00000000000000000000000000000000".utf8)))\r\n")
        channel.embeddedEventLoop.run()
        XCTAssertTrue(try replies(channel).hasPrefix("454 4.7.0"))
    }

    func testTricklingClientIsCutOffByTheTotalPerCommandDeadline() throws {
        let channel = try makeChannel(commandTimeout: .seconds(30))
        _ = try writes(channel)
        // One byte every 5 seconds never completes a line within 30 seconds.
        for byte in "NOOP NOOP NOOP\r\n".utf8 {
            guard channel.isActive else { break }
            try channel.writeInbound(channel.allocator.buffer(bytes: [byte]))
            channel.embeddedEventLoop.advanceTime(by: .seconds(5))
        }
        XCTAssertTrue(try replies(channel).hasPrefix("421 4.4.2"))
        XCTAssertFalse(channel.isActive)
    }

    func testEachCompleteLineRestartsTheDeadline() throws {
        let channel = try makeChannel(commandTimeout: .seconds(30))
        _ = try writes(channel)
        for _ in 0..<5 {
            channel.embeddedEventLoop.advanceTime(by: .seconds(20))
            try send(channel, "NOOP\r\n")
        }
        XCTAssertEqual(try replies(channel), String(repeating: "250 2.0.0 Ok\r\n", count: 5))
        XCTAssertTrue(channel.isActive)
    }

    /// A NOOP just inside each command timeout no longer holds a connection that never logs in.
    func testNOOPsCannotHoldAConnectionPastTheTimeBeforeLogin() throws {
        let channel = try makeChannel(
            limits: SMTPLimits(timeBeforeLogin: .seconds(300)),
            commandTimeout: .seconds(300)
        )
        _ = try writes(channel)
        channel.embeddedEventLoop.advanceTime(by: .seconds(299))
        try send(channel, "NOOP\r\n")
        XCTAssertEqual(try replies(channel), "250 2.0.0 Ok\r\n")
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        XCTAssertEqual(try replies(channel), "421 4.4.2 mail.example.org Error: timeout exceeded\r\n")
        channel.embeddedEventLoop.run()
        XCTAssertFalse(channel.isActive)
    }

    func testAnAuthenticatedClientKeepsTheWholeCommandTimeoutPastTheTimeBeforeLogin() throws {
        let channel = try makeChannel(
            limits: SMTPLimits(timeBeforeLogin: .seconds(60)),
            commandTimeout: .seconds(300)
        )
        try send(channel, "EHLO c\r\nAUTH PLAIN \(SessionFixture.plain("alice", SessionFixture.password))\r\n")
        XCTAssertTrue(try replies(channel).hasSuffix("235 2.7.0 Authentication successful\r\n"))
        channel.embeddedEventLoop.advanceTime(by: .seconds(250))
        try send(channel, "NOOP\r\n")
        XCTAssertEqual(try replies(channel), "250 2.0.0 Ok\r\n")
        XCTAssertTrue(channel.isActive)
    }

    /// A chunk trickled a few octets at a time gets the command timeout in all, as a line does.
    func testATrickledBDATChunkIsCutOffByTheTotalDeadline() throws {
        let channel = try makeChannel(commandTimeout: .seconds(30))
        try send(channel, "EHLO c\r\nAUTH PLAIN \(SessionFixture.plain("alice", SessionFixture.password))\r\n")
        try send(channel, "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nBDAT 100 LAST\r\n")
        XCTAssertTrue(try replies(channel).hasSuffix("250 2.1.5 Recipient ok\r\n"))
        for _ in 0..<5 {
            channel.embeddedEventLoop.advanceTime(by: .seconds(5))
            try send(channel, "0123456789")
        }
        XCTAssertEqual(try replies(channel), "")
        channel.embeddedEventLoop.advanceTime(by: .seconds(6))
        XCTAssertEqual(try replies(channel), "421 4.4.2 mail.example.org Error: timeout exceeded\r\n")
        channel.embeddedEventLoop.run()
        XCTAssertFalse(channel.isActive)
    }

    /// Failures against one account from anywhere hold the answers to its wrong passwords, while its owner, with
    /// the right password from an address without failures, logs in at once: delays, never a lockout.
    func testAccountFailuresDelayWrongPasswordsButNeverTheOwner() throws {
        let accounts = AuthFailureTracker(
            policy: AuthFailurePolicy(freeFailures: 0, baseDelay: .seconds(5), maximumDelay: .seconds(5))
        )
        for guess in 0..<3 { accounts.recordFailure(from: "alice@example.org", fingerprint: [UInt8(guess)]) }
        let owner = try makeChannel(accountTracker: accounts)
        _ = try writes(owner)
        try send(owner, "EHLO c\r\nAUTH PLAIN \(SessionFixture.plain("alice", SessionFixture.password))\r\n")
        XCTAssertTrue(try replies(owner).hasSuffix("235 2.7.0 Authentication successful\r\n"))

        let guesser = try makeChannel(accountTracker: accounts)
        _ = try writes(guesser)
        try send(guesser, "EHLO c\r\nAUTH PLAIN \(SessionFixture.plain("alice", "another-guess"))\r\n")
        XCTAssertFalse(try replies(guesser).contains("535"), "the answer waits for the account's pause")
        guesser.embeddedEventLoop.advanceTime(by: .seconds(4))
        XCTAssertEqual(try replies(guesser), "")
        guesser.embeddedEventLoop.advanceTime(by: .seconds(1))
        XCTAssertTrue(try replies(guesser).hasPrefix("535 5.7.8"))
        XCTAssertEqual(accounts.failureCount(for: "alice@example.org"), 4)
    }

    /// The handler wipes each decoded response after its step; LOGIN keeps the name of its first response in a buffer
    /// of its own, so the same wrong password by LOGIN and by PLAIN is still one fingerprint, counted once.
    func testLOGINAndPLAINWithTheSameWrongPasswordCountOnceThroughTheHandler() throws {
        let tracker = AuthFailureTracker(policy: AuthFailurePolicy(freeFailures: 10))
        let channel = try makeChannel(tracker: tracker)
        _ = try writes(channel)
        let name = SessionFixture.base64("alice")
        let wrong = SessionFixture.base64("the-same-guess")
        try send(channel, "EHLO c\r\nAUTH LOGIN \(name)\r\n\(wrong)\r\n")
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        try send(channel, "AUTH PLAIN \(SessionFixture.plain("alice", "the-same-guess"))\r\n")
        channel.embeddedEventLoop.advanceTime(by: .seconds(4))
        XCTAssertEqual(try replies(channel).components(separatedBy: "535 5.7.8").count, 3, "two refusals")
        XCTAssertEqual(tracker.failureCount(for: "192.0.2.7"), 1)
    }

    func testFailedAUTHHoldsTheReplyForThePause() throws {
        let tracker = AuthFailureTracker(policy: AuthFailurePolicy(freeFailures: 5))
        let channel = try makeChannel(tracker: tracker)
        _ = try writes(channel)
        try send(channel, "EHLO c\r\nAUTH PLAIN \(SessionFixture.plain("alice", "Wr0ng-Secret-77"))\r\nNOOP\r\n")
        let before = try replies(channel)
        XCTAssertTrue(before.hasPrefix("250-mail.example.org"), "replies before the pause go out at once")
        XCTAssertFalse(before.contains("535"), before)
        XCTAssertFalse(before.contains("250 2.0.0 Ok"), "the NOOP waits behind the pause")
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(999))
        XCTAssertEqual(try replies(channel), "")
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        XCTAssertEqual(try replies(channel), "535 5.7.8 Authentication credentials invalid\r\n250 2.0.0 Ok\r\n")
        XCTAssertEqual(tracker.failureCount(for: "192.0.2.7"), 1)
        XCTAssertFalse(logs.text.contains("Wr0ng-Secret-77"), "no password in the log")
    }

    func testTrackerDelayOutgrowsTheSessionPause() throws {
        let tracker = AuthFailureTracker(
            policy: AuthFailurePolicy(freeFailures: 0, baseDelay: .seconds(5), maximumDelay: .seconds(5))
        )
        let channel = try makeChannel(tracker: tracker)
        _ = try writes(channel)
        try send(channel, "EHLO c\r\nAUTH PLAIN \(SessionFixture.plain("alice", "wrong"))\r\n")
        _ = try replies(channel)
        channel.embeddedEventLoop.advanceTime(by: .seconds(4))
        XCTAssertEqual(try replies(channel), "", "the session's 1 s pause is lengthened to the tracker's 5 s")
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        XCTAssertTrue(try replies(channel).hasPrefix("535"))
    }

    func testAddressWithFailuresWaitsForItsGreeting() throws {
        let tracker = AuthFailureTracker(policy: AuthFailurePolicy(freeFailures: 0, baseDelay: .seconds(2)))
        tracker.recordFailure(from: "192.0.2.7", fingerprint: nil)
        let channel = try makeChannel(tracker: tracker)
        XCTAssertEqual(try writes(channel), [])
        try send(channel, "EHLO early\r\n")
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        let written = try replies(channel)
        XCTAssertTrue(written.hasPrefix("220 mail.example.org ESMTP\r\n250-mail.example.org"), written)
    }

    func testSuccessfulAUTHIsLoggedWithTheSessionFields() throws {
        let channel = try makeChannel()
        _ = try writes(channel)
        try send(channel, "EHLO c\r\nAUTH PLAIN \(SessionFixture.plain("alice", SessionFixture.password))\r\n")
        XCTAssertTrue(try replies(channel).hasSuffix("235 2.7.0 Authentication successful\r\n"))
        let entry = logs.all.first { $0.metadata["auth.result"] == "success" }
        XCTAssertEqual(entry?.metadata["sasl.mechanism"], "PLAIN")
        XCTAssertEqual(entry?.metadata["sasl.user"], "alice@example.org")
        XCTAssertEqual(entry?.metadata["smtp.session"], "TESTSESSION")
        XCTAssertEqual(entry?.metadata["client.address"], "192.0.2.7")
    }

    func testTooManyFailuresCloseAfterTheLastPause() throws {
        let channel = try makeChannel()
        _ = try writes(channel)
        try send(channel, "EHLO c\r\n")
        for _ in 0..<3 {
            try send(channel, "AUTH PLAIN \(SessionFixture.plain("alice", "wrong"))\r\n")
            channel.embeddedEventLoop.advanceTime(by: .seconds(10))
        }
        let written = try replies(channel)
        XCTAssertTrue(written.hasSuffix("421 4.7.0 mail.example.org Too many failed authentication attempts\r\n"))
        channel.embeddedEventLoop.run()
        XCTAssertFalse(channel.isActive)
    }

    func testQuiesceEndsAnIdleSessionWith421() throws {
        let channel = try makeChannel()
        _ = try writes(channel)
        try send(channel, "EHLO c\r\n")
        _ = try writes(channel)
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        XCTAssertEqual(try replies(channel), "421 4.3.2 mail.example.org Service shutting down\r\n")
        channel.embeddedEventLoop.run()
        XCTAssertFalse(channel.isActive)
    }

    func testQuiesceWaitsForTheTransactionToEnd() throws {
        let channel = try makeChannel()
        _ = try writes(channel)
        try send(channel, "EHLO c\r\nAUTH PLAIN \(SessionFixture.plain("alice", SessionFixture.password))\r\n")
        try send(channel, "MAIL FROM:<alice@example.org>\r\n")
        _ = try writes(channel)
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        XCTAssertEqual(try replies(channel), "")
        XCTAssertTrue(channel.isActive)
        try send(channel, "RSET\r\n")
        XCTAssertEqual(try replies(channel), "250 2.0.0 Ok\r\n421 4.3.2 mail.example.org Service shutting down\r\n")
    }

    /// Counts the `read` events that reach the socket.
    private final class ReadCounter: ChannelOutboundHandler {
        typealias OutboundIn = ByteBuffer
        var reads = 0
        func read(context: ChannelHandlerContext) {
            reads += 1
            context.read()
        }
    }

    func testSocketIsNotReadWhilePausedAfterAFailedAUTH() throws {
        let channel = try makeChannel()
        let counter = ReadCounter()
        try channel.pipeline.syncOperations.addHandler(counter, position: .first)
        _ = try writes(channel)
        channel.read()
        XCTAssertEqual(counter.reads, 1)
        try send(channel, "EHLO c\r\nAUTH PLAIN \(SessionFixture.plain("alice", "Wr0ng-Secret-77"))\r\n")
        channel.read()
        XCTAssertEqual(counter.reads, 1, "held during the pause")
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        XCTAssertEqual(counter.reads, 2, "released when the pause ends")
        XCTAssertTrue(try replies(channel).hasSuffix("535 5.7.8 Authentication credentials invalid\r\n"))
    }

    func testLinesAfterCloseAreIgnored() throws {
        let channel = try makeChannel(limits: SMTPLimits(errorsPerConnection: 1))
        _ = try writes(channel)
        try send(channel, "BOGUS\r\nNOOP\r\n")
        let written = try replies(channel)
        XCTAssertTrue(written.contains("421 4.7.0"), written)
        XCTAssertFalse(written.contains("250"))
    }
}
