import Foundation
import XCTest

@testable import SMTPSubmission

#if canImport(Glibc)
import Glibc
#endif

final class SendmailSinkTests: XCTestCase {
    /// A fake sendmail that records its arguments (one per line), its standard input, its environment and its open
    /// descriptors, then runs `then`.
    private func fakeSendmail(then: String = "exit 0") throws -> (path: String, directory: String) {
        let directory = try SinkTestSupport.makeDirectory(self)
        let path = directory + "/sendmail"
        try SinkTestSupport.writeScript(
            path,
            """
            for argument in "$@"; do printf '%s\\n' "$argument"; done > '\(directory)/argv'
            env > '\(directory)/env'
            ls /proc/$$/fd > '\(directory)/fds'
            cat > '\(directory)/stdin'
            \(then)
            """
        )
        return (path, directory)
    }

    func testRunsSendmailWithSenderAndRecipientsAfterDashDashAndTheMessageOnStdin() async throws {
        let fake = try fakeSendmail()
        let message = SinkTestSupport.message()
        try await SendmailSink(path: fake.path).deliver(message)
        XCTAssertEqual(
            try String(contentsOfFile: fake.directory + "/argv", encoding: .utf8),
            "-i\n-f\nalice@example.org\n--\nbob@example.net\ncarol@example.net\n"
        )
        let expected = String(decoding: message.data, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
        XCTAssertEqual(try String(contentsOfFile: fake.directory + "/stdin", encoding: .utf8), expected)
    }

    func testChildGetsOnlyPathInItsEnvironment() async throws {
        let fake = try fakeSendmail()
        try await SendmailSink(path: fake.path).deliver(SinkTestSupport.message())
        let environment = try String(contentsOfFile: fake.directory + "/env", encoding: .utf8)
            .split(separator: "\n").filter { !$0.hasPrefix("PWD=") && !$0.hasPrefix("SHLVL=") && !$0.hasPrefix("_=") }
        XCTAssertEqual(environment, ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"])
    }

    func testChildDoesNotInheritTheDaemonsDescriptors() async throws {
        let fake = try fakeSendmail()
        // A descriptor opened without close-on-exec, as a careless library might.
        let leaked = open("/dev/null", O_RDONLY)
        XCTAssertGreaterThan(leaked, 2)
        defer { close(leaked) }
        try await SendmailSink(path: fake.path).deliver(SinkTestSupport.message())
        let descriptors = try String(contentsOfFile: fake.directory + "/fds", encoding: .utf8).split(separator: "\n")
        XCTAssertFalse(descriptors.contains(Substring(String(leaked))), "\(descriptors)")
        XCTAssertTrue(descriptors.contains("0") && descriptors.contains("1") && descriptors.contains("2"))
    }

    func testNullSenderIsPassedAsAngleBrackets() async throws {
        let fake = try fakeSendmail()
        try await SendmailSink(path: fake.path).deliver(SinkTestSupport.message(sender: ""))
        XCTAssertTrue(
            try String(contentsOfFile: fake.directory + "/argv", encoding: .utf8).hasPrefix("-i\n-f\n<>\n--\n")
        )
    }

    func testBody8BitMIMEAddsDashB() throws {
        let arguments = try SendmailSink.arguments(for: SinkTestSupport.message(parameters: ["BODY": "8BITMIME"]))
        XCTAssertEqual(
            arguments,
            ["-i", "-f", "alice@example.org", "-B", "8BITMIME", "--", "bob@example.net", "carol@example.net"]
        )
    }

    func testAddressesThatCouldBecomeOptionsAreRefusedWithoutRunningSendmail() async throws {
        let fake = try fakeSendmail()
        let attacks: [(sender: String, recipients: [String])] = [
            ("-oQ/tmp", ["bob@example.net"]),
            ("alice@example.org", ["-oQ/tmp"]),
            ("alice@example.org", ["-X/tmp/log@example.net"]),
            ("alice@example.org", ["bob@example.net", "-C/tmp/evil.cf"]),
            ("alice@example.org -X/tmp/log", ["bob@example.net"]),
            ("alice@example.org", ["bob@example.net\n-oQ/tmp"]),
            ("alice@example.org", ["\"bob smith\"@example.net"]),
            ("alice@example.org", ["bob@example.net\0"]),
            ("alice@example.org", []),
        ]
        for attack in attacks {
            let error = await SinkTestSupport.sinkError { () throws(MessageSinkError) in
                try await SendmailSink(path: fake.path).deliver(
                    SinkTestSupport.message(sender: attack.sender, recipients: attack.recipients)
                )
            }
            XCTAssertEqual(error?.isPermanent, true, "\(attack)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: fake.directory + "/argv"), "sendmail was run")
    }

    func testExitStatus75IsTemporary() async throws {
        let fake = try fakeSendmail(then: "echo 'queue file write error' >&2; exit 75")
        let error = await SinkTestSupport.sinkError { () throws(MessageSinkError) in
            try await SendmailSink(path: fake.path).deliver(SinkTestSupport.message())
        }
        XCTAssertEqual(error?.isTemporary, true)
        XCTAssertTrue(error?.reason.contains("queue file write error") == true, error?.reason ?? "")
    }

    func testOtherExitStatusIsPermanent() async throws {
        let fake = try fakeSendmail(then: "exit 67")
        let error = await SinkTestSupport.sinkError { () throws(MessageSinkError) in
            try await SendmailSink(path: fake.path).deliver(SinkTestSupport.message())
        }
        XCTAssertEqual(error?.isPermanent, true)
        XCTAssertTrue(error?.reason.contains("status 67") == true, error?.reason ?? "")
    }

    func testDeathBySignalIsTemporary() async throws {
        let fake = try fakeSendmail(then: "kill -9 $$")
        let error = await SinkTestSupport.sinkError { () throws(MessageSinkError) in
            try await SendmailSink(path: fake.path).deliver(SinkTestSupport.message())
        }
        XCTAssertEqual(error?.isTemporary, true)
        XCTAssertTrue(error?.reason.contains("signal 9") == true, error?.reason ?? "")
    }

    func testMissingCommandIsTemporary() async throws {
        let directory = try SinkTestSupport.makeDirectory(self)
        let error = await SinkTestSupport.sinkError { () throws(MessageSinkError) in
            try await SendmailSink(path: directory + "/no-such-sendmail").deliver(SinkTestSupport.message())
        }
        XCTAssertEqual(error?.isTemporary, true)
    }

    func testCommandThatHangsIsKilledAtTheTimeout() async throws {
        let directory = try SinkTestSupport.makeDirectory(self)
        let path = directory + "/sendmail"
        try SinkTestSupport.writeScript(path, "exec sleep 30")
        let started = Date()
        let error = await SinkTestSupport.sinkError { () throws(MessageSinkError) in
            try await SendmailSink(path: path, timeout: .milliseconds(300)).deliver(SinkTestSupport.message())
        }
        XCTAssertEqual(error?.isTemporary, true)
        XCTAssertTrue(error?.reason.contains("timed out") == true, error?.reason ?? "")
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
    }

    func testTimeoutKillsTheCommandsWholeProcessGroupAndNamesThePostdropFix() async throws {
        let directory = try SinkTestSupport.makeDirectory(self)
        let path = directory + "/sendmail"
        // What Postfix's sendmail does when postdrop cannot write the maildrop: a child that retries for ever.
        try SinkTestSupport.writeScript(
            path,
            """
            cat > /dev/null
            sleep 300 &
            echo $! > '\(directory)/child'
            echo 'postdrop: warning: mail_queue_enter: create file maildrop/1234: Permission denied' >&2
            wait
            """
        )
        let error = await SinkTestSupport.sinkError { () throws(MessageSinkError) in
            try await SendmailSink(path: path, timeout: .seconds(2)).deliver(SinkTestSupport.message())
        }
        XCTAssertEqual(error?.isTemporary, true)
        let reason = error?.reason ?? ""
        XCTAssertTrue(reason.contains("killed with its process group"), reason)
        XCTAssertTrue(reason.contains("group postdrop"), reason)
        let child = try XCTUnwrap(
            pid_t(try String(contentsOfFile: directory + "/child", encoding: .utf8).filter(\.isNumber))
        )
        let deadline = Date().addingTimeInterval(5)
        var state = ""
        repeat {
            // Gone, or a zombie its new parent has not reaped yet: either way no longer running.
            let status = (try? String(contentsOfFile: "/proc/\(child)/status", encoding: .utf8)) ?? ""
            state = status.split(separator: "\n").first { $0.hasPrefix("State:") }.map(String.init) ?? ""
            if state.isEmpty || state.contains("Z") { break }
            usleep(20_000)
        } while Date() < deadline
        XCTAssertTrue(state.isEmpty || state.contains("Z"), "the grandchild \(child) still runs: \(state)")
    }

    func testExitingWithoutReadingTheMessageIsTemporary() async throws {
        let directory = try SinkTestSupport.makeDirectory(self)
        let path = directory + "/sendmail"
        try SinkTestSupport.writeScript(path, "exit 0")
        let large = SinkTestSupport.message(data: Array(repeating: UInt8(ascii: "x"), count: 1 << 20))
        let error = await SinkTestSupport.sinkError { () throws(MessageSinkError) in
            try await SendmailSink(path: path).deliver(large)
        }
        XCTAssertEqual(error?.isTemporary, true)
    }

    func testCRLFBecomesLFAndLoneCRStays() {
        XCTAssertEqual(
            SendmailSink.unixLineEndings(Array("a\r\nb\rc\n\r\n".utf8)),
            Array("a\nb\rc\n\n".utf8)
        )
    }
}
