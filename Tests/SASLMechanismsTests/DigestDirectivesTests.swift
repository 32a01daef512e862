import SASLDB
import XCTest

@testable import SASLMechanisms

final class DigestDirectivesTests: XCTestCase {
    private let known: Set<String> = ["username", "realm", "nonce", "qop", "nc", "digest-uri", "response", "charset"]

    private func parse(_ text: String, repeatable: Set<String> = []) throws(SASLFailure) -> DigestDirectives {
        try DigestDirectives(parsing: Array(text.utf8), known: known, repeatable: repeatable)
    }

    /// The failure of parsing `input`, or `nil` when it parses.
    private func failure(_ input: [UInt8], repeatable: Set<String> = []) -> SASLFailure? {
        do {
            _ = try DigestDirectives(parsing: input, known: known, repeatable: repeatable)
            return nil
        } catch {
            return error
        }
    }

    private func failure(_ text: String, repeatable: Set<String> = []) -> SASLFailure? {
        failure(Array(text.utf8), repeatable: repeatable)
    }

    private func assertMalformed(
        _ text: String,
        mentioning fragment: String,
        file: StaticString = #filePath,
        line: UInt = #line
    ) {
        assertMalformed(Array(text.utf8), mentioning: fragment, file: file, line: line)
    }

    private func assertMalformed(
        _ input: [UInt8],
        mentioning fragment: String,
        file: StaticString = #filePath,
        line: UInt = #line
    ) {
        guard case .malformed(let reason) = failure(input) else {
            XCTFail("expected a malformed failure, got \(String(describing: failure(input)))", file: file, line: line)
            return
        }
        XCTAssertTrue(
            reason.contains(fragment),
            "reason \(reason.debugDescription) lacks \(fragment)",
            file: file,
            line: line
        )
    }

    // MARK: Accepted syntax

    func testRFC2831ExampleResponse() throws {
        let directives = try parse(
            "charset=utf-8,username=\"chris\",realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\",nc=00000001,"
                + "cnonce=\"OA6MHXh6VqTrRk\",digest-uri=\"imap/elwood.innosoft.com\","
                + "response=d388dad90d4bbd760a152321f2143af7,qop=auth"
        )
        XCTAssertEqual(directives["username"], Array("chris".utf8))
        XCTAssertEqual(directives["realm"], Array("elwood.innosoft.com".utf8))
        XCTAssertEqual(directives["nc"], Array("00000001".utf8))
        XCTAssertEqual(directives["digest-uri"], Array("imap/elwood.innosoft.com".utf8))
        XCTAssertEqual(directives["response"], Array("d388dad90d4bbd760a152321f2143af7".utf8))
        XCTAssertEqual(
            directives.directives.map(\.name),
            [
                "charset", "username", "realm", "nonce", "nc", "digest-uri", "response", "qop",
            ]
        )
        // cnonce is not in this test's known set, so it is ignored like any unknown directive.
        XCTAssertEqual(directives.ignoredNames, ["cnonce"])
        XCTAssertNil(directives["cnonce"])
    }

    func testQuotedAndTokenFormsAreBothAccepted() throws {
        let directives = try parse("qop=\"auth\",nc=\"00000001\",username=bob")
        XCTAssertEqual(directives["qop"], Array("auth".utf8))
        XCTAssertEqual(directives.directives.map(\.wasQuoted), [true, true, false])
        XCTAssertEqual(directives["username"], Array("bob".utf8))
    }

    func testQuotedStringEscapesAreRemoved() throws {
        let directives = try parse(#"username="a\"b\\c\d",realm="""#)
        XCTAssertEqual(directives["username"], Array(#"a"b\cd"#.utf8))
        XCTAssertEqual(directives["realm"], [])
        // Separators and spaces are plain characters inside quotes.
        XCTAssertEqual(try parse(#"username="x, y=z""#)["username"], Array("x, y=z".utf8))
    }

    func testEmptyListElementsAreAllowed() throws {
        let directives = try parse(",, username=\"a\" ,,, qop=auth ,")
        XCTAssertEqual(directives.directives.map(\.name), ["username", "qop"])
        XCTAssertEqual(try parse("").directives, [])
        XCTAssertEqual(try parse(" , ,").directives, [])
    }

    func testLinearWhiteSpaceAroundEveryPart() throws {
        // GNU SASL's client separates directives with ", "; RFC 2616 LWS also allows tabs and CRLF folding.
        let directives = try parse("username = \"a\",\tqop\t=\tauth,\r\n nc=00000001 ,\r\n\trealm=\"r\"")
        XCTAssertEqual(directives["username"], Array("a".utf8))
        XCTAssertEqual(directives["qop"], Array("auth".utf8))
        XCTAssertEqual(directives["nc"], Array("00000001".utf8))
        XCTAssertEqual(directives["realm"], Array("r".utf8))
    }

    func testNamesAreCaseInsensitive() throws {
        let directives = try parse("UserName=\"a\",QOP=auth")
        XCTAssertEqual(directives.directives.map(\.name), ["username", "qop"])
        XCTAssertEqual(directives["username"], Array("a".utf8))
    }

    func testNonASCIIIsKeptInQuotedValues() throws {
        let directives = try parse("username=\"jörg\"")
        XCTAssertEqual(directives["username"], Array("jörg".utf8))
    }

    // MARK: Duplicates and unknown directives

    func testDuplicatedKnownDirectivesAreRejected() {
        assertMalformed("username=\"a\",qop=auth,username=\"b\"", mentioning: "'username' appears more than once")
        // Case-insensitive names are duplicates too.
        assertMalformed("nc=00000001,NC=00000001", mentioning: "'nc' appears more than once")
    }

    func testRealmMayRepeatWhereTheCallerAllowsIt() throws {
        // In a digest-challenge (RFC 2831 §2.1.1) a server may offer several realms.
        let directives = try parse("realm=\"a\",realm=\"b\",nonce=\"n\"", repeatable: ["realm"])
        XCTAssertEqual(directives.values(of: "realm"), [Array("a".utf8), Array("b".utf8)])
        XCTAssertEqual(directives["realm"], Array("a".utf8))
        XCTAssertNotNil(failure("realm=\"a\",realm=\"b\""))
    }

    func testUnknownDirectivesAreIgnoredEvenWhenRepeated() throws {
        let directives = try parse("future=1,username=\"a\",future=\"2\",x-ext=yes")
        XCTAssertEqual(directives.directives.map(\.name), ["username"])
        XCTAssertEqual(directives.ignoredNames, ["future", "future", "x-ext"])
        XCTAssertFalse(directives.contains("future"))
    }

    func testUnknownDirectivesAreStillSyntaxChecked() {
        assertMalformed("username=\"a\",future=\"unterminated", mentioning: "not terminated")
        assertMalformed("future=,username=\"a\"", mentioning: "'future' has no value")
    }

    // MARK: Malformed input

    func testTruncatedInput() {
        assertMalformed("username=\"abc", mentioning: "'username' is not terminated")
        assertMalformed("username=", mentioning: "'username' has no value")
        assertMalformed("username", mentioning: "'username' has no '='")
        assertMalformed("username=\"a\\", mentioning: "not terminated")
    }

    func testMissingCommaBetweenDirectives() {
        assertMalformed("username=\"a\" qop=auth", mentioning: "expected ',' after the directive 'username'")
        assertMalformed("username=\"a\"qop=auth", mentioning: "expected ','")
    }

    func testBadNamesAndValues() {
        assertMalformed("=\"a\"", mentioning: "expected a directive name")
        assertMalformed("user name=\"a\"", mentioning: "'user' has no '='")
        assertMalformed("qop=au\"th\"", mentioning: "expected ','")
        assertMalformed("digest-uri=smtp/host", mentioning: "expected ','")
        assertMalformed("username=örg", mentioning: "'username' has no value")
        assertMalformed(#"username="a\ö""#, mentioning: "escapes")
    }

    func testControlCharactersAreRejected() {
        assertMalformed([UInt8]("username=\"a".utf8) + [0] + [UInt8]("b\"".utf8), mentioning: "byte 0x00")
        assertMalformed("username=\"a\nb\"", mentioning: "byte 0x0A")
        assertMalformed("username=\"a\\\rb\"", mentioning: "escapes byte 0x0D")
        assertMalformed([UInt8]("username=\"a".utf8) + [0x7f] + [UInt8]("\"".utf8), mentioning: "byte 0x7F")
        // A bare CR or LF is not linear white space.
        assertMalformed("username=\"a\",\nqop=auth", mentioning: "byte 0x0A")
        assertMalformed("username=\"a\",\r\nqop=auth", mentioning: "byte 0x0D")
        // A tab is white space, so it is allowed inside quotes.
        XCTAssertNil(failure("username=\"a\tb\""))
    }

    // MARK: Bounds

    func testTotalLengthIsBounded() throws {
        let filler = String(repeating: "x", count: DigestDirectives.maximumLength - "username=\"\"".utf8.count)
        XCTAssertEqual(try parse("username=\"\(filler)\"")["username"]?.count, filler.utf8.count)
        XCTAssertEqual(failure("username=\"\(filler)x\""), .tooLong(limit: 4095))
        XCTAssertEqual(failure(String(repeating: ",", count: 1_000_000)), .tooLong(limit: 4095))
    }

    func testDirectiveCountIsBounded() throws {
        let atLimit = (1...DigestDirectives.maximumCount).map { "x\($0)=1" }.joined(separator: ",")
        XCTAssertEqual(try parse(atLimit).ignoredNames.count, DigestDirectives.maximumCount)
        assertMalformed(atLimit + ",y=1", mentioning: "more than 32 directives")
    }

    func testReasonsDoNotEchoRawBytes() {
        guard case .malformed(let reason) = failure([UInt8]("username=\"a\",".utf8) + [0xff]) else {
            return XCTFail("expected a malformed failure")
        }
        XCTAssertTrue(reason.contains("byte 0xFF"), reason)
    }

    func testArbitraryBytesNeverCrash() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("a=\",\\ \t\r\n0xé".utf8) + [0, 0x7f, 0xff]
        for _ in 0..<2000 {
            let length = Int.random(in: 0...40, using: &generator)
            let input = (0..<length).map { _ in alphabet.randomElement(using: &generator) ?? 0 }
            _ = failure(input)
        }
    }
}
