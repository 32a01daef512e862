import XCTest

@testable import SMTPSubmission

final class SMTPTimestampTests: XCTestCase {
    func testEpoch() {
        XCTAssertEqual(SMTPTimestamp(secondsSince1970: 0).rfc5322, "Thu, 1 Jan 1970 00:00:00 +0000")
    }

    func testSeedTranscriptDate() {
        XCTAssertEqual(SessionFixture.timestamp.rfc5322, "Fri, 24 May 2002 11:44:42 -0400")
    }

    func testLeapDayAndPositiveOffset() {
        let timestamp = SMTPTimestamp(secondsSince1970: 951_868_799, utcOffsetSeconds: 5 * 3600 + 30 * 60)
        XCTAssertEqual(timestamp.rfc5322, "Wed, 1 Mar 2000 05:29:59 +0530")
        XCTAssertEqual(SMTPTimestamp(secondsSince1970: 951_868_799).rfc5322, "Tue, 29 Feb 2000 23:59:59 +0000")
    }

    func testBeforeTheEpoch() {
        XCTAssertEqual(SMTPTimestamp(secondsSince1970: -1).rfc5322, "Wed, 31 Dec 1969 23:59:59 +0000")
    }

    func testFarFuture() {
        XCTAssertEqual(SMTPTimestamp(secondsSince1970: 4_102_444_800).rfc5322, "Fri, 1 Jan 2100 00:00:00 +0000")
    }
}
