import Foundation
import Logging
import PasswordChange
import PasswordService
import SASLDB
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The writer's loop over a real socket pair, in-process, and the client's view of a writer that is slow or gone.
final class PasswordWriterTests: XCTestCase {
    private static let logger = Logger(label: "password-writer-test") { _ in SwiftLogNoOpLogHandler() }

    /// The writer over a database with alice (`old horse battery`); the daemon's end closed at teardown.
    private func startWriter(
        audit: @escaping @Sendable (PasswordChangeAudit) -> Void = { _ in }
    ) throws -> SocketPairWriter {
        let writer = try SocketPairWriter(users: ["alice": "old horse battery"], audit: audit)
        addTeardownBlock { writer.removeDirectory() }
        return writer
    }

    private func changeFrame(id: UInt32 = 1, current: String, new: String) throws -> [UInt8] {
        let request = PasswordWriterRequest(
            id: id,
            login: Array("alice".utf8),
            current: Array(current.utf8),
            new: Array(new.utf8),
            origin: "test"
        )
        return try XCTUnwrap(request).frame
    }

    private func send(_ frame: [UInt8], on socket: Int32) {
        XCTAssertEqual(frame.withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, 0) }, frame.count)
    }

    /// The next reply and the id it answers, `nil` when the writer closed its end.
    private func receiveReply(on socket: Int32) -> (id: UInt32, reply: PasswordWriterReply)? {
        var buffer = [UInt8](repeating: 0, count: PasswordWriterReply.maximumFrameLength + 1)
        let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
        return count > 0 ? PasswordWriterReply.decode(frame: buffer[..<count]) : nil
    }

    private func change(
        _ client: PasswordWriterClient,
        current: String,
        new: String
    ) async -> PasswordChangeError? {
        do throws(PasswordChangeError) {
            try await client.change(
                login: Array("alice".utf8),
                current: Array(current.utf8),
                new: Array(new.utf8),
                origin: "test"
            )
            return nil
        } catch {
            return error
        }
    }

    func testTheWriterChangesChecksTheCurrentPasswordItselfAndEndsWhenTheDaemonCloses() throws {
        let writer = try startWriter()
        let socket = writer.daemonEnd
        defer { close(socket) }
        send(try changeFrame(id: 7, current: "old horse battery", new: "new horse battery"), on: socket)
        let first = receiveReply(on: socket)
        XCTAssertEqual(first?.id, 7, "the reply carries the request's id")
        XCTAssertEqual(first?.reply, .changed)
        XCTAssertTrue(try writer.verify("alice", "new horse battery"))
        send(try changeFrame(id: 8, current: "old horse battery", new: "third horse battery"), on: socket)
        let second = receiveReply(on: socket)
        XCTAssertEqual(second?.id, 8)
        XCTAssertEqual(second?.reply, .refused(.authenticationFailed))
        XCTAssertTrue(try writer.verify("alice", "new horse battery"))
        shutdown(socket, Int32(SHUT_RDWR))
        guard case .success = writer.waitForEnd() else { return XCTFail("the loop did not end cleanly") }
    }

    func testTheWriterStopsAtAMalformedFrame() throws {
        let writer = try startWriter()
        let socket = writer.daemonEnd
        defer { close(socket) }
        send([0x01, 0x00], on: socket)
        guard case .failure = writer.waitForEnd() else { return XCTFail("a malformed frame was served") }
        XCTAssertNil(receiveReply(on: socket), "the writer answers nothing and closes")
    }

    func testTheWriterStopsAtAnOversizedFrame() throws {
        let writer = try startWriter()
        let socket = writer.daemonEnd
        defer { close(socket) }
        var frame = try changeFrame(current: "old horse battery", new: "new horse battery")
        frame += [UInt8](repeating: 0, count: PasswordWriterRequest.maximumFrameLength + 1 - frame.count)
        send(frame, on: socket)
        guard case .failure = writer.waitForEnd() else { return XCTFail("an oversized frame was served") }
    }

    func testAWriterThatExitedMakesEveryChangeUnavailable() async throws {
        let client = try PasswordWriterClient(executable: "/bin/true", arguments: ["true"], logger: Self.logger)
        defer { client.stop() }
        for _ in 0..<2 {
            guard case .unavailable = await change(client, current: "a", new: "b") else {
                return XCTFail("a change succeeded or failed otherwise without a writer")
            }
        }
    }

    /// The first change outlasts the timeout; the writer finishes it and answers late. The next change must get its
    /// own answer (a refusal: the late change did happen, so its current password is wrong now), not the late one,
    /// and the one after succeeds: the writer stays in use.
    func testAChangeSucceedsAfterAWriterTimeout() async throws {
        let calls = Counter()
        let writer = try startWriter { _ in
            if calls.increment() == 1 { usleep(1_500_000) }
        }
        let client = PasswordWriterClient(
            socket: writer.daemonEnd,
            pid: nil,
            timeout: .seconds(1),
            logger: Self.logger
        )
        let started = ContinuousClock.now
        guard case .unavailable = await change(client, current: "old horse battery", new: "new horse battery") else {
            return XCTFail("the slow change was not answered as a temporary failure")
        }
        XCTAssertLessThan(ContinuousClock.now - started, .milliseconds(1400), "the client waited past its timeout")
        let second = await change(client, current: "old horse battery", new: "third horse battery")
        XCTAssertEqual(second, .authenticationFailed, "the late answer was taken for the next change's")
        let third = await change(client, current: "new horse battery", new: "fourth horse battery")
        XCTAssertNil(third, "the writer is out of use after a timeout")
        XCTAssertTrue(try writer.verify("alice", "fourth horse battery"))
        client.stop()
        guard case .success = writer.waitForEnd() else { return XCTFail("the loop did not end cleanly") }
    }

    /// While the writer is still on a change given up on, a new change is not sent (it would be made long after its
    /// client was told it failed) but answered as a temporary failure.
    func testAChangeIsNotQueuedBehindAWriterStillBusy() async throws {
        let writer = try startWriter { _ in usleep(2_500_000) }
        let client = PasswordWriterClient(
            socket: writer.daemonEnd,
            pid: nil,
            timeout: .milliseconds(500),
            logger: Self.logger
        )
        guard case .unavailable = await change(client, current: "old horse battery", new: "new horse battery") else {
            return XCTFail("the slow change was not answered as a temporary failure")
        }
        guard case .unavailable = await change(client, current: "old horse battery", new: "third horse battery")
        else { return XCTFail("a change went through while the writer was busy") }
        client.stop()
        guard case .success = writer.waitForEnd() else { return XCTFail("the loop did not end cleanly") }
        XCTAssertTrue(try writer.verify("alice", "new horse battery"), "only the first change reached the writer")
    }
}
