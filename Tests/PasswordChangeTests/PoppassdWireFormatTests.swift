import PasswordChange
import XCTest

/// The poppassd lines as both ends write and read them: what a client encodes, the server parses back, and the
/// other way round.
final class PoppassdWireFormatTests: XCTestCase {
    private let crlf: [UInt8] = [0x0D, 0x0A]

    func testEveryCommandAClientWritesParsesBackToItself() throws {
        for command in [
            PoppassdCommand.user(Array("alice@example.org".utf8)), .pass(Array("  old secret ".utf8)),
            .newpass(Array("new horse battery".utf8)), .pass([]), .quit,
        ] {
            let line = try XCTUnwrap(command.encoded, "\(command)")
            XCTAssertEqual(Array(line.suffix(2)), crlf)
            XCTAssertEqual(PoppassdCommand(line: Array(line.dropLast(2))), command)
        }
        XCTAssertEqual(PoppassdCommand.newpass(Array("x y".utf8)).encoded, Array("newpass x y\r\n".utf8))
    }

    func testAnArgumentWithALineBreakCannotBeWritten() {
        for argument in ["a\rb", "a\nb", "\r\n"] {
            XCTAssertNil(PoppassdCommand.pass(Array(argument.utf8)).encoded, argument.debugDescription)
            XCTAssertNil(PoppassdCommand.user(Array(argument.utf8)).encoded, argument.debugDescription)
        }
        XCTAssertNil(PoppassdCommand.unrecognized.encoded)
    }

    func testEveryReplyTheServerSendsParsesBackToItself() throws {
        for reply in [
            PoppassdReply.greeting, .askPassword, .askNewPassword, .changed, .bye, .lineTooLong, .tooManyErrors,
            .timeout, .shuttingDown, PoppassdReply(code: 500, text: ""),
        ] {
            let parsed = try XCTUnwrap(PoppassdReply(line: Array(reply.encoded.dropLast(2))), reply.description)
            XCTAssertEqual(parsed.code, reply.code)
            XCTAssertEqual(parsed.text, reply.text)
        }
        XCTAssertEqual(PoppassdReply(line: Array("200".utf8)), PoppassdReply(code: 200, text: ""))
        XCTAssertEqual(PoppassdReply.changed.codeClass, 2)
        XCTAssertEqual(PoppassdReply.tooManyErrors.codeClass, 5)
    }

    func testALineThatDoesNotStartWithThreeDigitsIsNoReply() {
        for line in ["", "20", "2000 ok", "20x ok", "ok 200", "+OK", "200-more"] {
            XCTAssertNil(PoppassdReply(line: Array(line.utf8)), line)
        }
    }
}
