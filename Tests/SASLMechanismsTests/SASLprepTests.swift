import SASLMechanisms
import XCTest

/// SASLprep (RFC 4013) through libidn: the examples of RFC 4013 §3 and the edges of the wrapper.
final class SASLprepTests: XCTestCase {
    private func prep(_ text: String, allowUnassigned: Bool = true) throws -> String {
        String(decoding: try saslPrep(text, allowUnassigned: allowUnassigned), as: UTF8.self)
    }

    private func failure(_ text: [UInt8], allowUnassigned: Bool = true) -> SASLFailure? {
        do {
            _ = try saslPrep(text, allowUnassigned: allowUnassigned)
            return nil
        } catch {
            return error
        }
    }

    private func isMalformed(_ text: String, allowUnassigned: Bool = true) -> Bool {
        if case .malformed = failure(Array(text.utf8), allowUnassigned: allowUnassigned) { return true }
        return false
    }

    func testRFC4013Examples() throws {
        // RFC 4013 §3, one line per example.
        XCTAssertEqual(try prep("I\u{00AD}X"), "IX", "SOFT HYPHEN mapped to nothing")
        XCTAssertEqual(try prep("user"), "user", "no transformation")
        XCTAssertEqual(try prep("USER"), "USER", "case preserved, will not match #2")
        XCTAssertEqual(try prep("\u{00AA}"), "a", "output is NFKC, input in ISO 8859-1")
        XCTAssertEqual(try prep("\u{2168}"), "IX", "output is NFKC, will match #1")
        XCTAssertTrue(isMalformed("\u{0007}"), "Error - prohibited character")
        XCTAssertTrue(isMalformed("\u{0627}\u{0031}"), "Error - bidirectional check")
    }

    func testBothModesAgreeOnAssignedText() throws {
        for text in ["I\u{00AD}X", "user", "p\u{00E4}ssw\u{00F6}rd", "\u{20AC}uro-\u{041A}\u{043B}\u{044E}\u{0447}"] {
            XCTAssertEqual(try prep(text, allowUnassigned: false), try prep(text, allowUnassigned: true))
        }
    }

    func testMappings() throws {
        XCTAssertEqual(try prep("a\u{00A0}b\u{3000}c"), "a b c", "non-ASCII spaces become SPACE")
        XCTAssertEqual(try prep("a\u{FEFF}b\u{200D}"), "ab", "ZERO WIDTH NO-BREAK SPACE and ZWJ are mapped to nothing")
        XCTAssertEqual(try prep("e\u{0301}"), "\u{00E9}", "NFKC composes")
        XCTAssertEqual(try prep("\u{FB01}"), "fi", "compatibility ligature decomposed")
        XCTAssertEqual(try prep("\u{00AD}"), "", "may prepare to nothing")
        XCTAssertEqual(try prep(""), "")
        XCTAssertEqual(try prep("\u{0627}1\u{0628}"), "\u{0627}1\u{0628}", "RandALCat first and last is fine")
    }

    func testProhibitedCharacters() {
        for text in ["a\u{0000}b", "\u{007F}", "\u{0085}", "\u{E000}", "\u{FFFD}", "\u{2FF0}", "\u{200E}", "\u{E0001}"]
        {
            XCTAssertTrue(isMalformed(text), text.unicodeScalars.map { String($0.value, radix: 16) }.joined())
        }
        XCTAssertTrue(isMalformed("a\u{0627}"), "LCat and RandALCat mixed")
    }

    func testUnassignedCodePointsOnlyInQueries() throws {
        // U+0221 was unassigned in Unicode 3.2, the version stringprep is frozen at.
        XCTAssertEqual(try prep("x\u{0221}", allowUnassigned: true), "x\u{0221}")
        XCTAssertTrue(isMalformed("x\u{0221}", allowUnassigned: false))
    }

    func testInvalidUTF8() {
        for bytes: [UInt8] in [[0xC3, 0x28], [0xFF], [0x61, 0xE2, 0x82], [0xED, 0xA0, 0x80], [0xC0, 0xAF]] {
            guard case .malformed = failure(bytes) else { return XCTFail("\(bytes) must be refused") }
        }
    }

    func testLengthBound() throws {
        let limit = SASLprep.maximumInputLength
        XCTAssertEqual(try saslPrep([UInt8](repeating: 0x61, count: limit), allowUnassigned: false).count, limit)
        XCTAssertEqual(failure([UInt8](repeating: 0x61, count: limit + 1)), .tooLong(limit: limit))
    }

    func testLargeExpansionDoesNotCrash() throws {
        // U+FDFA is the largest NFKC expansion (18 code points); a bound-sized input of it must still work.
        let text = String(repeating: "\u{FDFA}", count: SASLprep.maximumInputLength / 3)
        let prepared = try saslPrep(text, allowUnassigned: false)
        XCTAssertGreaterThan(prepared.count, Array(text.utf8).count)
    }
}
