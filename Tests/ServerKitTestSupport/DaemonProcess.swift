import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// A real `sasl-smtpd` serving a configuration of a test (shared by the service tests), its log in a file; ended by ``stop()`` or the test's
/// teardown.
package struct DaemonProcess {
    package let process: Process
    package let logPath: String
    /// The log up to the `ready` line.
    package let log: String
    /// The port of the first plain or submission SMTP listener.
    package let smtpPort: Int
    /// The port of the poppassd TCP listener, 0 without one.
    package let poppassdPort: Int

    /// Writes `configuration` into `directory`, starts the daemon on it and waits (60 s at most) until it is ready.
    package static func start(
        _ binary: String,
        configuration: String,
        in directory: String,
        environment: [String: String],
        test: XCTestCase
    ) throws -> DaemonProcess {
        let configurationPath = directory + "/sasl-smtpd.conf"
        try configuration.write(toFile: configurationPath, atomically: true, encoding: .utf8)
        let logPath = directory + "/sasl-smtpd.log"
        XCTAssertTrue(FileManager.default.createFile(atPath: logPath, contents: nil))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["--config", configurationPath]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: logPath)
        try process.run()
        test.addTeardownBlock {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        let deadline = Date().addingTimeInterval(60)
        var log = ""
        while Date() < deadline, process.isRunning {
            log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            if log.contains("msg=ready") { break }
            usleep(50_000)
        }
        guard log.contains("msg=ready") else { throw StartFailure(log: log) }
        return DaemonProcess(
            process: process,
            logPath: logPath,
            log: log,
            smtpPort: port(in: log, after: "msg=listening"),
            poppassdPort: port(in: log, after: "msg=\"poppassd listening\"")
        )
    }

    /// The daemon did not become ready.
    package struct StartFailure: Error, CustomStringConvertible {
        package var log: String
        package var description: String { "sasl-smtpd did not become ready: \(log)" }
    }

    /// The port at the end of the first `host:port` on the first line holding `marker`.
    private static func port(in log: String, after marker: String) -> Int {
        guard let line = log.split(separator: "\n").first(where: { $0.contains(marker) }) else { return 0 }
        let fields = line.split(separator: " ").filter { $0.contains("address=") }
        guard let address = fields.first, let colon = address.lastIndex(of: ":") else { return 0 }
        return Int(address[address.index(after: colon)...].prefix { $0.isNumber }) ?? 0
    }

    /// SIGTERM, then waits (30 s at most) for a clean exit.
    package func stop(file: StaticString = #filePath, line: UInt = #line) {
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        XCTAssertFalse(process.isRunning, "sasl-smtpd did not stop", file: file, line: line)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "sasl-smtpd exit status", file: file, line: line)
    }
}
