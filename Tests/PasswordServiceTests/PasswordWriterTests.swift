import Foundation
import Logging
import PasswordChange
import PasswordService
import SASLDB
import Synchronization
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The writer's loop over a real socket pair, in-process, and the client's view of a writer that is gone.
final class PasswordWriterTests: XCTestCase {
    /// How the loop ended, once it has.
    private final class LoopEnd: Sendable {
        let result = Mutex<Result<Void, PasswordWriter.Failure>?>(nil)
        let done = DispatchSemaphore(value: 0)

        func wait() -> Result<Void, PasswordWriter.Failure>? {
            guard done.wait(timeout: .now() + 10) == .success else { return nil }
            return result.withLock { $0 }
        }
    }

    private static let alice = UserID(authid: Array("alice".utf8), realm: Array("example.org".utf8))

    /// A database with alice (`old horse battery`), and the writer serving one end of a socket pair on a thread
    /// (closing it when the loop ends); returns the daemon's end.
    private func startWriter() throws -> (socket: Int32, store: CredentialStore, end: LoopEnd) {
        let directory = NSTemporaryDirectory() + "passwordwriter-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: directory) }
        let store = CredentialStore(backend: FileBackend(path: directory + "/sasldb2"))
        try store.setPassword(Array("old horse battery".utf8), for: Self.alice)
        let changer = PasswordChanger(store: store, defaultRealm: "example.org") { _ in }
        var ends: [Int32] = [-1, -1]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue), 0, &ends), 0)
        let (daemonEnd, writerEnd) = (ends[0], ends[1])
        addTeardownBlock { close(daemonEnd) }
        let end = LoopEnd()
        Thread.detachNewThread {
            let result: Result<Void, PasswordWriter.Failure>
            do throws(PasswordWriter.Failure) {
                try PasswordWriter.serve(socket: writerEnd, changer: changer)
                result = .success(())
            } catch {
                result = .failure(error)
            }
            close(writerEnd)
            end.result.withLock { $0 = result }
            end.done.signal()
        }
        return (daemonEnd, store, end)
    }

    private func changeFrame(current: String, new: String) throws -> [UInt8] {
        let request = PasswordWriterRequest(
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

    /// The next reply, `nil` when the writer closed its end.
    private func receiveReply(on socket: Int32) -> PasswordWriterReply? {
        var buffer = [UInt8](repeating: 0, count: PasswordWriterReply.maximumFrameLength + 1)
        let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
        return count > 0 ? PasswordWriterReply(frame: buffer[..<count]) : nil
    }

    func testTheWriterChangesChecksTheCurrentPasswordItselfAndEndsWhenTheDaemonCloses() throws {
        let (socket, store, end) = try startWriter()
        send(try changeFrame(current: "old horse battery", new: "new horse battery"), on: socket)
        XCTAssertEqual(receiveReply(on: socket), .changed)
        XCTAssertTrue(try store.verify(password: Array("new horse battery".utf8), for: Self.alice))
        send(try changeFrame(current: "old horse battery", new: "third horse battery"), on: socket)
        XCTAssertEqual(receiveReply(on: socket), .refused(.authenticationFailed))
        XCTAssertTrue(try store.verify(password: Array("new horse battery".utf8), for: Self.alice))
        shutdown(socket, Int32(SHUT_RDWR))
        guard case .success = end.wait() else { return XCTFail("the loop did not end cleanly") }
    }

    func testTheWriterStopsAtAMalformedFrame() throws {
        let (socket, _, end) = try startWriter()
        send([0x01, 0x00], on: socket)
        guard case .failure = end.wait() else { return XCTFail("a malformed frame was served") }
        XCTAssertNil(receiveReply(on: socket), "the writer answers nothing and closes")
    }

    func testTheWriterStopsAtAnOversizedFrame() throws {
        let (socket, _, end) = try startWriter()
        var frame = try changeFrame(current: "old horse battery", new: "new horse battery")
        frame += [UInt8](repeating: 0, count: PasswordWriterRequest.maximumFrameLength + 1 - frame.count)
        send(frame, on: socket)
        guard case .failure = end.wait() else { return XCTFail("an oversized frame was served") }
    }

    func testAWriterThatExitedMakesEveryChangeUnavailable() async throws {
        let logger = Logger(label: "password-writer-test") { _ in SwiftLogNoOpLogHandler() }
        let client = try PasswordWriterClient(executable: "/bin/true", arguments: ["true"], logger: logger)
        defer { client.stop() }
        for _ in 0..<2 {
            do throws(PasswordChangeError) {
                try await client.change(login: Array("alice".utf8), current: [0x61], new: [0x62], origin: "test")
                XCTFail("a change succeeded without a writer")
            } catch {
                guard case .unavailable = error else { return XCTFail("\(error)") }
            }
        }
    }
}
