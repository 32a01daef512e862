import PasswordChange
import XCTest

final class PoppassdSessionTests: XCTestCase {
    private let noPause = PoppassdSession.Limits(maximumErrors: 3, failurePause: .zero)

    private func started(_ limits: PoppassdSession.Limits? = nil) -> PoppassdSession {
        var session = PoppassdSession(limits: limits ?? noPause)
        XCTAssertEqual(session.start(), [.reply(.greeting)])
        return session
    }

    private func send(_ session: inout PoppassdSession, _ line: String) -> [PoppassdEffect] {
        session.receive(line: Array(line.utf8))
    }

    /// Runs `user`, `pass`, `newpass` and returns the request the session hands out.
    private func request(
        _ session: inout PoppassdSession,
        user: String,
        current: String,
        new: String,
        file: StaticString = #filePath,
        line: UInt = #line
    ) -> PoppassdChangeRequest? {
        XCTAssertEqual(send(&session, "user " + user), [.reply(.askPassword)], file: file, line: line)
        XCTAssertEqual(send(&session, "pass " + current), [.reply(.askNewPassword)], file: file, line: line)
        let effects = send(&session, "newpass " + new)
        guard effects.count == 1, case .checkAndChange(let request) = effects[0] else {
            XCTFail("expected a change, got \(effects)", file: file, line: line)
            return nil
        }
        return request
    }

    func testSuccessfulDialogueAsRoundcubeSendsIt() throws {
        var session = started()
        let request = try XCTUnwrap(
            request(&session, user: "alice@example.org", current: "old pw", new: "new horse battery")
        )
        XCTAssertEqual(request.login, Array("alice@example.org".utf8))
        XCTAssertEqual(request.current, Array("old pw".utf8))
        XCTAssertEqual(request.new, Array("new horse battery".utf8))
        XCTAssertTrue(session.isChanging)
        XCTAssertEqual(session.changeFinished(nil), [.reply(.changed)])
        XCTAssertEqual(send(&session, "quit"), [.reply(.bye), .close])
        XCTAssertEqual(PoppassdReply.changed.encoded, Array("200 Password changed, thank-you.\r\n".utf8))
    }

    func testWrongPasswordAndUnknownUserGetTheSameRepliesAtEveryStep() throws {
        var transcripts: [[PoppassdEffect]] = []
        for user in ["alice", "nobody-here"] {
            var session = PoppassdSession(limits: PoppassdSession.Limits(failurePause: .seconds(1)))
            var transcript = session.start()
            transcript += send(&session, "user \(user)")
            transcript += send(&session, "pass wrong")
            XCTAssertEqual(send(&session, "newpass new horse battery").count, 1)
            transcript += session.changeFinished(.authenticationFailed)
            transcripts.append(transcript)
        }
        XCTAssertEqual(transcripts[0], transcripts[1])
        XCTAssertEqual(
            Array(transcripts[0].suffix(3)),
            [.pause(.seconds(1)), .reply(PoppassdReply(code: 500, text: "the current password is not right")), .close]
        )
    }

    func testPolicyRefusalShowsItsReasonAndCloses() throws {
        var session = started()
        _ = try XCTUnwrap(request(&session, user: "alice", current: "old pw", new: "short"))
        let effects = session.changeFinished(.policy(.tooShort(minimum: 8)))
        XCTAssertEqual(
            effects,
            [
                .pause(.zero),
                .reply(PoppassdReply(code: 500, text: "the new password is too short: use at least 8 characters")),
                .close,
            ]
        )
        XCTAssertEqual(send(&session, "quit"), [])
    }

    func testVerbsAreCaseInsensitiveAndArgumentsKeepEverySpace() throws {
        var session = started()
        XCTAssertEqual(send(&session, "USER alice"), [.reply(.askPassword)])
        XCTAssertEqual(send(&session, "Pass  two  spaces "), [.reply(.askNewPassword)])
        let effects = send(&session, "NewPass correct horse battery staple ")
        XCTAssertEqual(
            effects,
            [
                .checkAndChange(
                    PoppassdChangeRequest(
                        login: Array("alice".utf8),
                        current: Array(" two  spaces ".utf8),
                        new: Array("correct horse battery staple ".utf8)
                    )
                )
            ]
        )
    }

    func testGarbledVerbsAreRefusedAndTheThirdErrorCloses() {
        var session = started()
        XCTAssertEqual(
            send(&session, "hello"),
            [.reply(PoppassdReply(code: 500, text: "unknown command or missing argument"))]
        )
        XCTAssertEqual(
            send(&session, "user"),
            [.reply(PoppassdReply(code: 500, text: "unknown command or missing argument"))]
        )
        XCTAssertEqual(send(&session, "\u{1}\u{FF}"), [.reply(.tooManyErrors), .close])
        XCTAssertEqual(send(&session, "user alice"), [])
    }

    func testCommandsOutOfOrderAreRefused() {
        var session = started()
        XCTAssertEqual(send(&session, "pass secret"), [.reply(PoppassdReply(code: 500, text: "send user first"))])
        XCTAssertEqual(send(&session, "user alice"), [.reply(.askPassword)])
        XCTAssertEqual(send(&session, "newpass x"), [.reply(PoppassdReply(code: 500, text: "send pass first"))])
        XCTAssertEqual(send(&session, "user bob"), [.reply(.tooManyErrors), .close])
    }

    func testNothingButQuitIsTakenAfterAChange() throws {
        var session = started()
        _ = try XCTUnwrap(request(&session, user: "alice", current: "old pw", new: "new horse battery"))
        XCTAssertEqual(session.changeFinished(nil), [.reply(.changed)])
        XCTAssertEqual(
            send(&session, "newpass again and again"),
            [.reply(PoppassdReply(code: 500, text: "the password was changed: send quit"))]
        )
    }

    func testLinesWhileChangingAreNotTakenByTheSession() throws {
        var session = started()
        _ = try XCTUnwrap(request(&session, user: "alice", current: "old pw", new: "new horse battery"))
        XCTAssertEqual(send(&session, "quit"), [])
        XCTAssertEqual(session.interrupt(with: .timeout), [])
    }

    func testOverlongLineIsRefusedAndCloses() {
        var session = started()
        XCTAssertEqual(session.receiveOverlongLine(), [.reply(.lineTooLong), .close])
        XCTAssertEqual(session.receiveOverlongLine(), [])
    }

    func testNULAndInvalidUTF8InAPasswordReachTheChangerUnchanged() throws {
        var session = started()
        XCTAssertEqual(send(&session, "user alice"), [.reply(.askPassword)])
        XCTAssertEqual(session.receive(line: Array("pass a".utf8) + [0, 0xFF]), [.reply(.askNewPassword)])
        let effects = session.receive(line: Array("newpass b".utf8) + [0xC3, 0x28, 0])
        guard case .checkAndChange(let request) = effects.first else { return XCTFail("no change: \(effects)") }
        XCTAssertEqual(request.current, [UInt8(ascii: "a"), 0, 0xFF])
        XCTAssertEqual(request.new, [UInt8(ascii: "b"), 0xC3, 0x28, 0])
        XCTAssertEqual(
            session.changeFinished(.policy(.notUTF8)),
            [.pause(.zero), .reply(PoppassdReply(code: 500, text: "the new password is not valid UTF-8 text")), .close]
        )
    }

    func testTimeoutBeforeNewpassEndsTheDialogue() {
        var session = started()
        XCTAssertEqual(send(&session, "user alice"), [.reply(.askPassword)])
        XCTAssertEqual(session.interrupt(with: .timeout), [.reply(.timeout), .close])
    }

    func testEraseOverwritesBothPasswords() {
        var request = PoppassdChangeRequest(login: Array("alice".utf8), current: [1, 2], new: [3])
        request.erase()
        XCTAssertEqual(request.current, [])
        XCTAssertEqual(request.new, [])
        XCTAssertEqual(request.login, Array("alice".utf8))
    }
}
