import Foundation
import XCTest

@testable import SMTPSubmission

final class MaildirSinkTests: XCTestCase {
    func testMessageLandsInNewByteForByteWithMode0600() async throws {
        let root = try SinkTestSupport.makeDirectory(self) + "/Maildir"
        let message = SinkTestSupport.message()
        try await MaildirSink(directory: root).deliver(message)

        let delivered = SinkTestSupport.names(in: root + "/new")
        XCTAssertEqual(delivered.count, 1)
        let name = try XCTUnwrap(delivered.first)
        XCTAssertEqual(try SinkTestSupport.bytes(of: root + "/new/" + name), message.data)
        let attributes = try FileManager.default.attributesOfItem(atPath: root + "/new/" + name)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        XCTAssertEqual(SinkTestSupport.names(in: root + "/tmp"), [])
        XCTAssertEqual(SinkTestSupport.names(in: root + "/cur"), [])
        XCTAssertEqual(SinkTestSupport.names(in: root + "/envelope"), [name])
    }

    func testEnvelopeFileNamesSenderUserRecipientsInOrderAndSortedParameters() async throws {
        let root = try SinkTestSupport.makeDirectory(self)
        let message = SinkTestSupport.message(
            recipients: ["zed@example.net", "amy@example.net"],
            parameters: ["SMTPUTF8": "", "BODY": "8BITMIME"]
        )
        try await MaildirSink(directory: root).deliver(message)
        let name = try XCTUnwrap(SinkTestSupport.names(in: root + "/envelope").first)
        let envelope = String(decoding: try SinkTestSupport.bytes(of: root + "/envelope/" + name), as: UTF8.self)
        XCTAssertEqual(
            envelope,
            """
            id: 4AbC9dE
            sender: alice@example.org
            authenticated-user: alice@example.org
            parameter: BODY=8BITMIME
            parameter: SMTPUTF8=
            recipient: zed@example.net
            recipient: amy@example.net

            """
        )
        let attributes = try FileManager.default.attributesOfItem(atPath: root + "/envelope/" + name)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
    }

    func testNullSenderIsAnEmptySenderLine() throws {
        let text = String(decoding: try MaildirSink.envelope(of: SinkTestSupport.message(sender: "")), as: UTF8.self)
        XCTAssertTrue(text.contains("\nsender: \n"))
    }

    func testPrepareCreatesTheFourDirectoriesPrivate() throws {
        let root = try SinkTestSupport.makeDirectory(self) + "/spool/Maildir"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try MaildirSink(directory: root + "/").prepare()
        XCTAssertEqual(SinkTestSupport.names(in: root), ["cur", "envelope", "new", "tmp"])
        for name in ["cur", "envelope", "new", "tmp"] {
            let attributes = try FileManager.default.attributesOfItem(atPath: root + "/" + name)
            XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o700, name)
        }
    }

    func testAFailureAtAnyStepLeavesNoFileInNewTmpOrEnvelope() async throws {
        let steps: [MaildirSink.Step] = [
            .createFile, .writeFile, .syncFile, .renameEnvelope, .syncEnvelopeDirectory, .renameMessage,
            .syncNewDirectory,
        ]
        for step in steps {
            let root = try SinkTestSupport.makeDirectory(self)
            let sink = MaildirSink(directory: root, failure: { $0 == step })
            let error = await SinkTestSupport.sinkError { () throws(MessageSinkError) in
                try await sink.deliver(SinkTestSupport.message())
            }
            XCTAssertEqual(error?.isTemporary, true, "\(step)")
            for directory in MaildirSink.subdirectories {
                XCTAssertEqual(SinkTestSupport.names(in: root + "/" + directory), [], "\(step): \(directory)")
            }
        }
    }

    func testHalfWrittenMessageIsNeverVisible() async throws {
        // The message's write fails half-way (the envelope's, written first, succeeds): nothing may remain.
        let root = try SinkTestSupport.makeDirectory(self)
        let writes = Counter()
        let sink = MaildirSink(directory: root, failure: { $0 == .writeFile && writes.next() == 2 })
        let large = SinkTestSupport.message(data: Array(repeating: UInt8(ascii: "x"), count: 3 << 20))
        let error = await SinkTestSupport.sinkError { () throws(MessageSinkError) in try await sink.deliver(large) }
        XCTAssertEqual(error?.isTemporary, true)
        XCTAssertTrue(error?.reason.contains("write") == true, error?.reason ?? "")
        for directory in MaildirSink.subdirectories {
            XCTAssertEqual(SinkTestSupport.names(in: root + "/" + directory), [], directory)
        }
    }

    func testNewThatIsNotADirectoryFailsTemporarilyAndCleansUp() async throws {
        let root = try SinkTestSupport.makeDirectory(self)
        try MaildirSink(directory: root).prepare()
        try FileManager.default.removeItem(atPath: root + "/new")
        XCTAssertTrue(FileManager.default.createFile(atPath: root + "/new", contents: Data()))
        let error = await SinkTestSupport.sinkError { () throws(MessageSinkError) in
            try await MaildirSink(directory: root).deliver(SinkTestSupport.message())
        }
        XCTAssertEqual(error?.isTemporary, true)
        XCTAssertEqual(SinkTestSupport.names(in: root + "/tmp"), [])
        XCTAssertEqual(SinkTestSupport.names(in: root + "/envelope"), [])
    }

    func testEnvelopeFieldWithALineBreakIsRefusedPermanently() async throws {
        let root = try SinkTestSupport.makeDirectory(self)
        let error = await SinkTestSupport.sinkError { () throws(MessageSinkError) in
            try await MaildirSink(directory: root).deliver(
                SinkTestSupport.message(recipients: ["bob@example.net\nrecipient: eve@example.net"])
            )
        }
        XCTAssertEqual(error?.isPermanent, true)
        XCTAssertEqual(SinkTestSupport.names(in: root + "/new"), [])
    }

    func testConcurrentDeliveriesGetDistinctNames() async throws {
        let root = try SinkTestSupport.makeDirectory(self)
        let sink = MaildirSink(directory: root)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<40 {
                group.addTask { try await sink.deliver(SinkTestSupport.message()) }
            }
            try await group.waitForAll()
        }
        let names = SinkTestSupport.names(in: root + "/new")
        XCTAssertEqual(names.count, 40)
        XCTAssertEqual(SinkTestSupport.names(in: root + "/envelope"), names)
        XCTAssertEqual(SinkTestSupport.names(in: root + "/tmp"), [])
    }

    func testUniqueNameHasNoSlashOrColon() {
        let name = MaildirSink.uniqueName()
        XCTAssertFalse(name.contains("/"))
        XCTAssertFalse(name.contains(":"))
        XCTAssertTrue(name.contains(".M"))
    }
}

/// A thread-safe counter for fault hooks.
final class Counter: @unchecked Sendable {
    // Guarded by `lock`.
    private var value = 0
    private let lock = NSLock()

    /// Returns 1, 2, 3, ... on successive calls.
    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}
