import XCTest

@testable import SASLDB

/// `isValidUTF8` accepts what the standard library's decoder accepts, by either path: contiguous bytes (arrays and
/// slices, checked by the fast loop) and any other collection (decoded generically).
final class UTF8ValidationTests: XCTestCase {
    private let valid: [[UInt8]] = [
        [], Array("alice@example.org".utf8), Array("pässwörd €𝄞".utf8), [0x7F], [0xEF, 0xBF, 0xBF],
        [0xF4, 0x8F, 0xBF, 0xBF], Array("ascii then é".utf8),
    ]
    private let invalid: [[UInt8]] = [
        [0x80], [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
        [0xF5, 0x80, 0x80, 0x80], [0xE2, 0x82], Array("tail ".utf8) + [0xE2, 0x82], [0xFF], Array("ok".utf8) + [0xC3],
    ]

    func testArraysAndSlicesAreCheckedLikeTheStandardDecoder() {
        for bytes in valid + invalid {
            let expected = String(validating: bytes, as: UTF8.self) != nil
            XCTAssertEqual(isValidUTF8(bytes), expected, "\(bytes)")
            XCTAssertEqual(isValidUTF8(([0x41] + bytes)[1...]), expected, "slice \(bytes)")
        }
        XCTAssertTrue(valid.allSatisfy { isValidUTF8($0) })
        XCTAssertFalse(invalid.contains { isValidUTF8($0) })
    }

    func testNonContiguousCollectionsAreDecodedGenerically() {
        for bytes in valid + invalid {
            let expected = String(validating: bytes, as: UTF8.self) != nil
            XCTAssertEqual(isValidUTF8(bytes.lazy.map { $0 }), expected, "\(bytes)")
        }
    }
}
