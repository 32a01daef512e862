import PasswordChange
import PasswordService
import XCTest

/// The frames between the daemon and its password writer: every outcome round-trips, anything else is refused.
final class PasswordWriterProtocolTests: XCTestCase {
    private func request(origin: String = "poppassd client=127.0.0.1") throws -> PasswordWriterRequest {
        try XCTUnwrap(
            PasswordWriterRequest(
                id: 0x0102_0304,
                login: Array("alice".utf8),
                current: Array("old pw".utf8),
                new: Array("new pw".utf8),
                origin: origin
            )
        )
    }

    func testRequestRoundTripsAndEraseClearsBothPasswords() throws {
        var original = try request()
        let frame = original.frame
        XCTAssertEqual(Array(frame.prefix(5)), [0x01, 0x01, 0x02, 0x03, 0x04], "the tag, then the id")
        XCTAssertEqual(PasswordWriterRequest(frame: frame[...]), original)
        original.erase()
        XCTAssertEqual(original.current, [])
        XCTAssertEqual(original.new, [])
        XCTAssertEqual(original.login, Array("alice".utf8))
    }

    func testEveryCutOfARequestIsRefused() throws {
        let frame = try request().frame
        for length in 0..<frame.count {
            XCTAssertNil(PasswordWriterRequest(frame: frame[..<length]), "cut to \(length) bytes")
        }
    }

    func testRequestWithAnotherTagTrailingBytesOrABadOriginIsRefused() throws {
        let frame = try request().frame
        XCTAssertNil(PasswordWriterRequest(frame: ([0x02] + frame.dropFirst())[...]))
        XCTAssertNil(PasswordWriterRequest(frame: (frame + [0])[...]))
        var badOrigin = Array(frame.dropLast(2))
        badOrigin += [0xC3, 0x28]  // not UTF-8
        XCTAssertNil(PasswordWriterRequest(frame: badOrigin[...]))
    }

    func testFieldsOverTheirBoundsAreNeitherMadeNorDecoded() throws {
        let long = [UInt8](repeating: 0x61, count: PasswordWriterRequest.maximumFieldLength + 1)
        XCTAssertNil(PasswordWriterRequest(id: 1, login: long, current: [], new: [], origin: ""))
        XCTAssertNil(PasswordWriterRequest(id: 1, login: [], current: long, new: [], origin: ""))
        XCTAssertNil(
            PasswordWriterRequest(id: 1, login: [], current: [], new: [], origin: String(repeating: "o", count: 257))
        )
        // A hand-made frame whose login claims one byte over the bound, the bytes present.
        var frame: [UInt8] = [0x01, 0, 0, 0, 1, UInt8(long.count >> 8), UInt8(long.count & 0xFF)] + long
        frame += [0, 0, 0, 0, 0, 0]
        XCTAssertNil(PasswordWriterRequest(frame: frame[...]))
        let longest = try XCTUnwrap(
            PasswordWriterRequest(
                id: .max,
                login: Array(long.dropFirst()),
                current: Array(long.dropFirst()),
                new: Array(long.dropFirst()),
                origin: String(repeating: "o", count: PasswordWriterRequest.maximumOriginLength)
            )
        )
        XCTAssertEqual(longest.frame.count, PasswordWriterRequest.maximumFrameLength)
    }

    func testEveryOutcomeRoundTrips() {
        let outcomes: [PasswordChangeError?] = [
            nil, .authenticationFailed, .invalidLogin, .notPermitted, .throttled,
            .unavailable(reason: "disk full"), .invalidConfiguration("bad list"),
            .policy(.tooShort(minimum: 8)), .policy(.tooLong(maximum: 128)), .policy(.notUTF8),
            .policy(.controlCharacter), .policy(.sameAsCurrent), .policy(.sameAsLogin), .policy(.common),
        ]
        for (index, outcome) in outcomes.enumerated() {
            let reply = PasswordWriterReply(outcome)
            XCTAssertEqual(reply.error, outcome)
            let id = UInt32(index) << 24 | 0xAB
            let decoded = PasswordWriterReply.decode(frame: reply.frame(id: id)[...])
            XCTAssertEqual(decoded?.id, id, "\(String(describing: outcome))")
            XCTAssertEqual(decoded?.reply, reply, "\(String(describing: outcome))")
            XCTAssertLessThanOrEqual(reply.frame(id: id).count, PasswordWriterReply.maximumFrameLength)
        }
    }

    func testMalformedRepliesAreRefused() {
        let malformed: [[UInt8]] = [
            [],
            [0, 0, 0],  // id cut short
            [0, 0, 0, 1],  // no tag
            [8],  // unknown tag
            [0, 0],  // trailing byte
            [3, 0, 0, 0, 0, 0],  // unknown rule
            [3, 8, 0, 0, 0, 0],  // unknown rule
            [3, 5, 0, 0, 0, 1],  // a bound on a rule without one
            [3, 1, 0, 0],  // bound cut short
            [6, 0, 3, 0x61],  // text cut short
            [6, 0, 2, 0xC3, 0x28],  // text not UTF-8
            [7, 2, 1] + [UInt8](repeating: 0x61, count: 513),  // text over its bound
        ]
        for (index, body) in malformed.enumerated() {
            // The first three are cut in or right after the id; the others follow a whole one.
            let frame = index < 3 ? body : [0, 0, 0, 1] + body
            XCTAssertNil(PasswordWriterReply.decode(frame: frame[...]), "\(frame.prefix(12))")
        }
    }

    func testALongReasonIsCutOnACharacterBoundary() throws {
        let reason = String(repeating: "é", count: 300)  // 600 bytes
        let reply = PasswordWriterReply(.unavailable(reason: reason))
        XCTAssertEqual(reply.frame(id: 9).count, PasswordWriterReply.maximumFrameLength)
        let decoded = try XCTUnwrap(PasswordWriterReply.decode(frame: reply.frame(id: 9)[...]))
        XCTAssertEqual(decoded.reply, .refused(.unavailable(reason: String(repeating: "é", count: 256))))
    }
}
