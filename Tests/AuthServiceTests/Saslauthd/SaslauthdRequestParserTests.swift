import AuthService
import XCTest

final class SaslauthdRequestParserTests: XCTestCase {
    private let full = SaslauthdRequest(
        login: Array("alice".utf8),
        password: Array("secret".utf8),
        service: Array("smtp".utf8),
        realm: Array("example.org".utf8)
    )

    func testFourStringsInOneReadMakeARequest() {
        var parser = SaslauthdRequestParser()
        let bytes = SaslauthdWire.request(login: "alice", password: "secret", realm: "example.org")
        XCTAssertEqual(parser.receive(bytes), .request(full))
    }

    func testRequestFedOneByteAtATimeCompletesOnItsLastByte() {
        var parser = SaslauthdRequestParser()
        let bytes = SaslauthdWire.request(login: "alice", password: "secret", realm: "example.org")
        for byte in bytes.dropLast() {
            XCTAssertEqual(parser.receive([byte]), .needMoreBytes)
        }
        XCTAssertEqual(parser.receive([bytes[bytes.count - 1]]), .request(full))
    }

    func testFifthStringAlreadyReceivedIsTheClientAddress() {
        var parser = SaslauthdRequestParser()
        let bytes = SaslauthdWire.request(
            login: "alice",
            password: "secret",
            realm: "example.org",
            clientAddress: "192.0.2.7;40000"
        )
        var expected = full
        expected.clientAddress = Array("192.0.2.7;40000".utf8)
        XCTAssertEqual(parser.receive(bytes), .request(expected))
    }

    func testFifthStringIsNeverWaitedFor() {
        var parser = SaslauthdRequestParser()
        let four = SaslauthdWire.request(login: "alice", password: "secret", realm: "example.org")
        XCTAssertEqual(parser.receive(four), .request(full))
        XCTAssertEqual(parser.receive(SaslauthdWire.counted(Array("192.0.2.7".utf8))), .finished)
    }

    func testPartOfAFifthStringIsIgnored() {
        var parser = SaslauthdRequestParser()
        let bytes = SaslauthdWire.request(login: "alice", password: "secret", realm: "example.org")
        XCTAssertEqual(parser.receive(bytes + [0, 9, 0x31, 0x39]), .request(full))
        var lonePrefixByte = SaslauthdRequestParser()
        XCTAssertEqual(lonePrefixByte.receive(bytes + [0]), .request(full))
    }

    func testEmptyStringsAreRequestsToo() {
        var parser = SaslauthdRequestParser()
        XCTAssertEqual(
            parser.receive([0, 0, 0, 0, 0, 0, 0, 0]),
            .request(SaslauthdRequest(login: [], password: [], service: [], realm: []))
        )
    }

    func testOverlongLengthIsRefusedBeforeItsBytesArrive() {
        var parser = SaslauthdRequestParser()
        XCTAssertEqual(parser.receive([0xff, 0xff]), .tooLong(.login))
        XCTAssertEqual(parser.receive([0x41]), .finished)

        var password = SaslauthdRequestParser()
        let limit = SaslauthdRequestParser.Limits().password
        let prefix = SaslauthdWire.counted(Array("alice".utf8)) + [UInt8((limit + 1) >> 8), UInt8((limit + 1) & 0xff)]
        XCTAssertEqual(password.receive(prefix), .tooLong(.password))
    }

    func testEveryFieldAtItsLimitIsAccepted() {
        let limits = SaslauthdRequestParser.Limits()
        let strings = [limits.login, limits.password, limits.service, limits.realm].map {
            [UInt8](repeating: 0x61, count: $0)
        }
        var parser = SaslauthdRequestParser()
        guard case .request(let request) = parser.receive(strings.flatMap(SaslauthdWire.counted)) else {
            return XCTFail("a request at the limits was refused")
        }
        XCTAssertEqual(request.login.count, limits.login)
        XCTAssertEqual(request.password.count, limits.password)
    }

    func testTruncatedPrefixesWaitForMore() {
        let bytes = SaslauthdWire.request(login: "alice", password: "secret", realm: "example.org")
        for cut in 0..<bytes.count {
            var parser = SaslauthdRequestParser()
            XCTAssertEqual(parser.receive(bytes.prefix(cut)), .needMoreBytes, "cut at \(cut)")
            parser.discard()
            XCTAssertEqual(parser.receive(bytes), .finished)
        }
    }

    func testRandomBytesNeverCrashAndAlwaysDecide() {
        var generator = SplitMix(seed: 0x5a51_a07d)
        for _ in 0..<2000 {
            var parser = SaslauthdRequestParser()
            let count = Int(generator.next() % 64)
            let bytes = (0..<count).map { _ in
                // Mostly small lengths, so that some random inputs complete.
                UInt8(truncatingIfNeeded: generator.next() % 4 == 0 ? generator.next() : generator.next() % 6)
            }
            var outcome = SaslauthdRequestParser.Outcome.needMoreBytes
            for chunk in stride(from: 0, to: bytes.count, by: 7) {
                outcome = parser.receive(bytes[chunk..<min(chunk + 7, bytes.count)])
                if outcome != .needMoreBytes { break }
            }
            if case .request(let request) = outcome {
                XCTAssertLessThanOrEqual(request.login.count, SaslauthdRequestParser.Limits().login)
            }
        }
    }

    func testErasePasswordLeavesNoPassword() {
        var request = full
        request.erasePassword()
        XCTAssertEqual(request.password, [])
    }
}

/// A small deterministic generator, so a failing input can be replayed.
struct SplitMix: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}
