import AuthService
import Foundation
import SASLDB
import ServerKitTestSupport
import XCTest

final class SaslauthdServerTests: XCTestCase {
    private func ask(_ fixture: SaslauthdFixture, _ bytes: [UInt8], path: String? = nil) -> String? {
        SaslauthdClient.exchange(path ?? fixture.socketPath, bytes).flatMap(SaslauthdWire.replyText)
    }

    func testEverySocketAnswersAndIsRemovedAtStop() async throws {
        let fixture = try await SaslauthdFixture(users: ["alice": "right"], sockets: 2)
        for path in fixture.socketPaths {
            XCTAssertEqual(
                ask(
                    fixture,
                    SaslauthdWire.request(login: "alice", password: "right", realm: "example.org"),
                    path: path
                ),
                "OK"
            )
            XCTAssertEqual(
                ask(
                    fixture,
                    SaslauthdWire.request(login: "alice", password: "wrong", realm: "example.org"),
                    path: path
                ),
                "NO authentication failed"
            )
        }
        let paths = fixture.socketPaths
        await fixture.stop()
        for path in paths { XCTAssertFalse(FileManager.default.fileExists(atPath: path), path) }
    }

    func testClientAddressSentByLibsaslIsCountedByTheSharedTracker() async throws {
        let fixture = try await SaslauthdFixture(users: ["alice": "right"])
        let request = SaslauthdWire.request(
            login: "alice",
            password: "wrong",
            realm: "example.org",
            clientAddress: "203.0.113.5;2525"
        )
        XCTAssertEqual(ask(fixture, request), "NO authentication failed")
        XCTAssertEqual(fixture.failures.failureCount(for: "203.0.113.5"), 1)
        await fixture.stop()
    }

    func testOverlongStringGetsNOAndAClose() async throws {
        let fixture = try await SaslauthdFixture(users: ["alice": "right"])
        XCTAssertEqual(ask(fixture, [0xff, 0xff] + [UInt8](repeating: 0x41, count: 100)), "NO login too long")
        let password = SaslauthdWire.counted(Array("alice".utf8)) + [0x7f, 0xff]
        XCTAssertEqual(ask(fixture, password), "NO password too long")
        await fixture.stop()
    }

    func testTruncatedRequestIsClosedWithoutAnAnswer() async throws {
        let fixture = try await SaslauthdFixture(users: ["alice": "right"])
        let whole = SaslauthdWire.request(login: "alice", password: "right", realm: "example.org")
        for cut in [1, 2, 9, whole.count - 1] {
            XCTAssertEqual(
                SaslauthdClient.exchange(fixture.socketPath, Array(whole.prefix(cut)), finish: true),
                [],
                "cut at \(cut)"
            )
        }
        // The server still serves.
        XCTAssertEqual(ask(fixture, whole), "OK")
        await fixture.stop()
    }

    func testStalledRequestIsClosedAfterTheRequestTimeout() async throws {
        let fixture = try await SaslauthdFixture(users: ["alice": "right"]) { $0.requestTimeout = .milliseconds(300) }
        let start = ContinuousClock.now
        XCTAssertEqual(SaslauthdClient.exchange(fixture.socketPath, [0, 5, 0x61], timeout: 10), [])
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(5))
        await fixture.stop()
    }

    func testBytesAfterTheRequestAreIgnored() async throws {
        let fixture = try await SaslauthdFixture(users: ["alice": "right"])
        let request = SaslauthdWire.request(
            login: "alice",
            password: "right",
            realm: "example.org",
            clientAddress: "::1"
        )
        XCTAssertEqual(ask(fixture, request + [UInt8](repeating: 0xee, count: 5000)), "OK")
        await fixture.stop()
    }

    func testWrongPasswordAndUnknownUserTakeTheSameTime() async throws {
        // Without plaintext every check of a real user runs PBKDF2; an unknown one must cost as much.
        var policy = SecretPolicy.noPlaintext
        policy.scramIterations = 40_000
        let fixture = try await SaslauthdFixture(users: ["alice": "right"], policy: policy)
        // Interleaved, so that a burst of other load on the machine slows both kinds alike.
        var times: [String: [Duration]] = [:]
        for _ in 0..<21 {
            for login in ["alice", "mallory"] {
                let request = SaslauthdWire.request(login: login, password: "wrong", realm: "example.org")
                let start = ContinuousClock.now
                XCTAssertEqual(ask(fixture, request), "NO authentication failed")
                times[login, default: []].append(ContinuousClock.now - start)
            }
        }
        let wrong = (times["alice"] ?? []).sorted()[10]
        let unknown = (times["mallory"] ?? []).sorted()[10]
        XCTAssertGreaterThan(unknown, wrong / 2, "unknown \(unknown), wrong \(wrong)")
        XCTAssertLessThan(unknown, wrong * 2, "unknown \(unknown), wrong \(wrong)")
        await fixture.stop()
    }

    func testPasswordChangedBySasldbPasswdWorksAtTheNextRequest() async throws {
        let sasldb = try builtExecutable("sasldb", override: "SASLDB_BIN")
        let fixture = try await SaslauthdFixture(users: ["alice": "Old-passw0rd-1"])
        XCTAssertEqual(
            ask(fixture, SaslauthdWire.request(login: "alice", password: "Old-passw0rd-1", realm: "example.org")),
            "OK"
        )
        let change = ProcessRunner.run(
            sasldb,
            ["passwd", "-f", fixture.database, "alice@example.org"],
            input: Data("Old-passw0rd-1\nNew-passw0rd-2\nNew-passw0rd-2\n".utf8),
            timeout: 60
        )
        XCTAssertEqual(change.status, 0, change.standardError)
        XCTAssertEqual(
            ask(fixture, SaslauthdWire.request(login: "alice", password: "New-passw0rd-2", realm: "example.org")),
            "OK"
        )
        XCTAssertEqual(
            ask(fixture, SaslauthdWire.request(login: "alice", password: "Old-passw0rd-1", realm: "example.org")),
            "NO authentication failed"
        )
        await fixture.stop()
    }
}
