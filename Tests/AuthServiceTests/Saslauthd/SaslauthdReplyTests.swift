import AuthService
import XCTest

final class SaslauthdReplyTests: XCTestCase {
    func testOKIsTwoCountedBytes() {
        XCTAssertEqual(SaslauthdReply.ok.encoded, [0, 2, 0x4f, 0x4b])
    }

    func testRefusalCarriesItsText() {
        XCTAssertEqual(SaslauthdWire.replyText(SaslauthdReply.authenticationFailed.encoded), "NO authentication failed")
        XCTAssertEqual(SaslauthdWire.replyText(SaslauthdReply.no("").encoded), "NO")
    }

    func testLongTextIsCutToWhatSaslauthdSends() {
        let reply = SaslauthdReply.no(String(repeating: "x", count: 5000)).encoded
        XCTAssertEqual(reply.count, 2 + 3 + 1020)
        XCTAssertNotNil(SaslauthdWire.replyText(reply))
    }
}
