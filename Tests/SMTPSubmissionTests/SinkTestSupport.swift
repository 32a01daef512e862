import Foundation
import XCTest

@testable import SMTPSubmission

/// Helpers the sink tests share: a private folder, files, and a message.
enum SinkTestSupport {
    /// A new empty folder under the system's temporary directory, removed by the caller's `addTeardownBlock`.
    static func makeDirectory(_ test: XCTestCase) throws -> String {
        let path = NSTemporaryDirectory() + "sink-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    /// The names in `directory`, sorted; empty when it does not exist.
    static func names(in directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    /// The bytes of a file.
    static func bytes(of path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Writes an executable shell script.
    static func writeScript(_ path: String, _ body: String) throws {
        try ("#!/bin/sh\n" + body + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
    }

    /// A message from alice to bob and carol with a `Received:` header and a line that starts with a dot.
    static func message(
        sender: String = "alice@example.org",
        recipients: [String] = ["bob@example.net", "carol@example.net"],
        parameters: [String: String] = [:],
        data: [UInt8]? = nil
    ) -> SubmittedMessage {
        let text =
            "Received: from client.example.org by mail.example.org; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
            + "Subject: test\r\n\r\nfirst line\r\n.starts with a dot\r\n..two dots\r\nlast line\r\n"
        return SubmittedMessage(
            sender: sender,
            recipients: recipients,
            authenticatedUser: "alice@example.org",
            data: data ?? Array(text.utf8),
            id: "4AbC9dE",
            parameters: parameters
        )
    }

    /// Runs `body` and returns the sink error it threw, or fails the test when it threw nothing.
    static func sinkError(
        file: StaticString = #filePath,
        line: UInt = #line,
        _ body: () async throws(MessageSinkError) -> Void
    ) async -> MessageSinkError? {
        do {
            try await body()
            XCTFail("expected a MessageSinkError", file: file, line: line)
            return nil
        } catch {
            return error
        }
    }
}

extension MessageSinkError {
    /// Whether the error is temporary.
    var isTemporary: Bool {
        if case .temporary = self { return true }
        return false
    }

    /// Whether the error is permanent.
    var isPermanent: Bool {
        if case .permanent = self { return true }
        return false
    }

    /// The reason, whatever the kind.
    var reason: String {
        switch self {
        case .temporary(let reason), .permanent(let reason): return reason
        }
    }
}
