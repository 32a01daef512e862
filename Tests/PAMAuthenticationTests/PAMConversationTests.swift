import CPAM
import XCTest

@testable import PAMAuthentication

#if canImport(Glibc)
import Glibc
#endif

/// The conversation callback PAM calls, driven directly with the messages a module would send: no PAM stack runs
/// (the stacks are tested through the daemon, with libpam_wrapper preloaded into it alone).
final class PAMConversationTests: XCTestCase {
    /// Calls the callback with one message per `(style, text)` and returns its status and the answers' texts.
    private func converse(_ conversation: PAMConversation, _ prompts: [(Int32, String)]) -> (Int32, [String?]) {
        let texts = prompts.map { strdup($0.1) }
        defer { for text in texts { free(text) } }
        var messages = zip(prompts, texts).map { pam_message(msg_style: $0.0.0, msg: $0.1.map { UnsafePointer($0) }) }
        return messages.withUnsafeMutableBufferPointer { buffer in
            var pointers: [UnsafePointer<pam_message>?] = buffer.indices.map { index in
                buffer.baseAddress.map { UnsafePointer($0 + index) }
            }
            var replies: UnsafeMutablePointer<pam_response>?
            let appdata = Unmanaged.passUnretained(conversation).toOpaque()
            let status = pointers.withUnsafeMutableBufferPointer {
                pamConverse(Int32(prompts.count), $0.baseAddress, &replies, appdata)
            }
            guard status == PAM_SUCCESS, let replies else { return (status, []) }
            defer { free(replies) }
            return (
                status,
                (0..<prompts.count).map { index in
                    defer { free(replies[index].resp) }
                    return replies[index].resp.map { String(cString: $0) }
                }
            )
        }
    }

    func testHiddenPromptGetsThePasswordVisibleOneTheNameAndMessagesNothing() {
        let conversation = PAMConversation(name: "alice", password: Array("s3cret".utf8))
        let (status, answers) = converse(
            conversation,
            [
                (PAM_TEXT_INFO, "Welcome"), (PAM_PROMPT_ECHO_ON, "login:"), (PAM_PROMPT_ECHO_OFF, "Password: "),
                (PAM_ERROR_MSG, "careful"),
            ]
        )
        XCTAssertEqual(status, PAM_SUCCESS)
        XCTAssertEqual(answers, [nil, "alice", "s3cret", nil])
        XCTAssertEqual(conversation.passwordPrompts, 1)
    }

    func testAnUnknownStyleOrNoMessageFailsTheWholeCall() {
        let conversation = PAMConversation(name: "alice", password: Array("s3cret".utf8))
        XCTAssertEqual(converse(conversation, [(PAM_PROMPT_ECHO_OFF, "Password: "), (99, "binary")]).0, PAM_CONV_ERR)
        XCTAssertEqual(converse(conversation, []).0, PAM_CONV_ERR)
    }

    func testAnErasedPasswordIsAnsweredEmpty() {
        let conversation = PAMConversation(name: "alice", password: Array("s3cret".utf8))
        conversation.erase()
        XCTAssertEqual(converse(conversation, [(PAM_PROMPT_ECHO_OFF, "Password: ")]).1, [""])
    }

    func testTheFailureDelayIsRecordedNotSlept() {
        let conversation = PAMConversation(name: "alice", password: Array("s3cret".utf8))
        let appdata = Unmanaged.passUnretained(conversation).toOpaque()
        let clock = ContinuousClock()
        let start = clock.now
        pamRecordFailureDelay(PAM_AUTH_ERR, 2_000_000, appdata)
        pamRecordFailureDelay(PAM_AUTH_ERR, 500_000, appdata)
        XCTAssertLessThan(clock.now - start, .milliseconds(100))
        XCTAssertEqual(conversation.requestedFailureDelay, 2_000_000)
    }
}
