import Foundation
import XCTest

/// The outcome of running a command.
struct CommandResult {
    var status: Int32
    var stdout: Data
    var stderr: Data
    var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}

/// Helpers every interop test shares: a private temporary folder, the built `sasldb`, and bounded command runs.
enum TestSupport {
    /// The `sasldb` executable built beside the test bundle (`swift build` before `swift test`), or $SASLDB_BIN.
    static var sasldb: String {
        if let path = ProcessInfo.processInfo.environment["SASLDB_BIN"] { return path }
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var directory = bundle
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("sasldb").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return bundle.appendingPathComponent("sasldb").path
    }

    /// Whether `tool` is on the PATH (or an absolute path that exists).
    static func has(_ tool: String) -> Bool {
        if tool.hasPrefix("/") { return FileManager.default.isExecutableFile(atPath: tool) }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").contains {
            FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)")
        } || FileManager.default.isExecutableFile(atPath: "/usr/sbin/\(tool)")
    }

    /// In CI (`CI=true`) a missing peer fails the test; on a developer's machine it skips with the reason.
    static func require(_ tools: String..., file: StaticString = #filePath, line: UInt = #line) throws {
        for tool in tools where !has(tool) {
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                XCTFail("\(tool) is not installed: .ci/run must install it", file: file, line: line)
                throw XCTSkip("missing \(tool)")
            }
            throw XCTSkip("\(tool) is not installed")
        }
    }

    /// A new private folder under /tmp, removed when the test ends.
    static func temporaryDirectory(for testCase: XCTestCase) throws -> URL {
        var template = Array("/tmp/sasldb-test-XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else { throw POSIXError(.EIO) }
        let url = URL(fileURLWithPath: String(cString: created))
        testCase.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// Runs `executable` with `arguments`, feeding `input`, and waits at most `timeout` seconds (then kills it).
    @discardableResult
    static func run(
        _ executable: String,
        _ arguments: [String],
        input: Data? = nil,
        environment: [String: String] = [:],
        timeout: TimeInterval = 30
    ) throws -> CommandResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: resolve(executable))
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        // Files rather than pipes: no reader threads, and inputs larger than a pipe buffer never block.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("sasldb-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let inputURL = scratch.appendingPathComponent("in")
        let outputURL = scratch.appendingPathComponent("out")
        let errorURL = scratch.appendingPathComponent("err")
        try (input ?? Data()).write(to: inputURL)
        FileManager.default.createFile(atPath: outputURL.path, contents: nil)
        FileManager.default.createFile(atPath: errorURL.path, contents: nil)
        let stdinHandle = try FileHandle(forReadingFrom: inputURL)
        let stdoutHandle = try FileHandle(forWritingTo: outputURL)
        let stderrHandle = try FileHandle(forWritingTo: errorURL)
        defer {
            try? stdinHandle.close()
            try? stdoutHandle.close()
            try? stderrHandle.close()
        }
        process.standardInput = stdinHandle
        process.standardOutput = stdoutHandle
        process.standardError = stderrHandle
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(1000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw TimeoutError(command: ([executable] + arguments).joined(separator: " "))
        }
        process.waitUntilExit()
        let out = try Data(contentsOf: outputURL)
        let err = try Data(contentsOf: errorURL)
        return CommandResult(status: process.terminationStatus, stdout: out, stderr: err)
    }

    /// Runs our `sasldb` with `arguments`.
    @discardableResult
    static func sasldb(
        _ arguments: [String],
        input: String? = nil,
        environment: [String: String] = [:]
    ) throws
        -> CommandResult
    {
        try run(sasldb, arguments, input: input.map { Data($0.utf8) }, environment: environment)
    }

    /// The bytes of a file.
    static func contents(_ url: URL) throws -> Data { try Data(contentsOf: url) }

    private static func resolve(_ tool: String) -> String {
        if tool.hasPrefix("/") { return tool }
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin") + ":/usr/sbin:/sbin"
        for directory in path.split(separator: ":")
        where FileManager.default.isExecutableFile(atPath: "\(directory)/\(tool)") {
            return "\(directory)/\(tool)"
        }
        return tool
    }

    /// A command that did not finish in time.
    struct TimeoutError: Error, CustomStringConvertible {
        let command: String
        var description: String { "timed out: \(command)" }
    }
}
