import XCTest

@testable import SMTPSubmission

final class SMTPReplyTests: XCTestCase {
    func testMultilineReplyRepeatsCodeAndEnhancedCodeOnEveryLine() {
        let reply = SMTPReply(250, "2.0.0", ["first", "last"])
        XCTAssertEqual(String(decoding: reply.encoded, as: UTF8.self), "250-2.0.0 first\r\n250 2.0.0 last\r\n")
    }

    func testReplyWithoutEnhancedCode() {
        XCTAssertEqual(String(decoding: SMTPReply(220, nil, "ready").encoded, as: UTF8.self), "220 ready\r\n")
    }
}
