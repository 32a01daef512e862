import XCTest

@testable import SASLDB

final class RecordsTests: XCTestCase {
    func testNameSplitsAtTheFirstAtAndTheRealmWinsOverTheDefault() throws {
        let user = try UserID(parsing: "a@b@c", defaultRealm: "ignored")
        XCTAssertEqual(user.authid, Array("a".utf8))
        XCTAssertEqual(user.realm, Array("b@c".utf8))
        let other = try UserID(parsing: "alice@Other.ORG", defaultRealm: "Example.COM")
        XCTAssertEqual(other.realm, Array("Other.ORG".utf8))
    }

    func testNameWithoutAtTakesTheDefaultRealmVerbatim() throws {
        let user = try UserID(parsing: "alice", defaultRealm: "Example.COM")
        XCTAssertEqual(user.description, "alice@Example.COM")
    }

    func testEmptyAndNULNamesAreRefused() {
        XCTAssertThrowsError(try UserID(parsing: "", defaultRealm: "r"))
        XCTAssertThrowsError(try UserID(parsing: "a\u{0}b", defaultRealm: "r"))
        XCTAssertThrowsError(try UserID(parsing: "@realm", defaultRealm: "r"))
        XCTAssertThrowsError(try UserID(parsing: String(repeating: "x", count: 256), defaultRealm: "r"))
    }

    func testKeyNeedsExactlyTwoNULs() {
        XCTAssertNil(RecordKey(bytes: Array("a\u{0}b".utf8)))
        XCTAssertNil(RecordKey(bytes: Array("a\u{0}b\u{0}c\u{0}d".utf8)))
        let key = RecordKey(bytes: Array("\u{0}vm\u{0}userPassword".utf8))
        XCTAssertEqual(key?.authid, [])
        XCTAssertEqual(key?.realm, Array("vm".utf8))
    }

    func testDumpRoundTripsBinaryValues() throws {
        let records = [
            Record(
                key: RecordKey(authid: Array("bob".utf8), realm: Array("r".utf8), property: Property.cramMD5.bytes),
                value: Array(0...255)
            ),
            Record(
                key: RecordKey(authid: Array("back\\slash".utf8), realm: [], property: Property.userPassword.bytes),
                value: Array("a b\\c".utf8)
            ),
        ]
        XCTAssertEqual(try DumpFormat.decode(DumpFormat.encode(records)), records)
    }

    func testDumpErrorsNameTheLine() {
        let text = Array("VERSION=3\nformat=print\ntype=hash\nHEADER=END\n a\\00b\\00c\n v\nbad\nDATA=END\n".utf8)
        XCTAssertThrowsError(try DumpFormat.decode(text)) { error in
            XCTAssertEqual(error as? SASLDBError, .invalidInput(line: 7, reason: "a data line must start with a space"))
        }
        let cut = Array("VERSION=3\nHEADER=END\n a\\00b\\00c\n v\n".utf8)
        XCTAssertThrowsError(try DumpFormat.decode(cut))
    }

    func testPasswordListKeepsColonsAndSpacesInPasswords() throws {
        let entries = try PasswordList.parse(Array("# comment\nalice@r:a b:c\r\nbob:pw\n\n".utf8), defaultRealm: "d")
        XCTAssertEqual(entries.count, 2)
        XCTAssertEqual(entries[0].password, Array("a b:c".utf8))
        XCTAssertEqual(entries[1].user.description, "bob@d")
    }

    func testPasswordListReportsTheBadLineWithoutThePassword() {
        XCTAssertThrowsError(try PasswordList.parse(Array("a@r:x\nno-colon-here\n".utf8), defaultRealm: "d")) {
            XCTAssertEqual($0 as? SASLDBError, .invalidInput(line: 2, reason: "expected user@realm:password"))
        }
        XCTAssertThrowsError(try PasswordList.parse(Array("a@r:x\na@r:y\n".utf8), defaultRealm: "d")) {
            XCTAssertEqual($0 as? SASLDBError, .invalidInput(line: 2, reason: "a@r was already given on line 1"))
        }
    }
}
