import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs a child process with a bounded wait; kills it when the time is up.
package enum ProcessRunner {
    package struct Result {
        package var status: Int32
        package var standardOutput: String
        package var standardError: String
        package var timedOut: Bool
    }

    package static func run(
        _ executable: String,
        _ arguments: [String],
        input: Data? = nil,
        environment: [String: String]? = nil,
        timeout: TimeInterval
    ) -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("proc-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let outURL = directory.appendingPathComponent("out")
        let errURL = directory.appendingPathComponent("err")
        let inURL = directory.appendingPathComponent("in")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        FileManager.default.createFile(atPath: inURL.path, contents: input ?? Data())
        guard let out = try? FileHandle(forWritingTo: outURL), let err = try? FileHandle(forWritingTo: errURL),
            let inHandle = try? FileHandle(forReadingFrom: inURL)
        else {
            return Result(status: -1, standardOutput: "", standardError: "cannot open temp files", timedOut: false)
        }
        process.standardOutput = out
        process.standardError = err
        process.standardInput = inHandle
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        do {
            try process.run()
        } catch {
            return Result(status: -1, standardOutput: "", standardError: "\(error)", timedOut: false)
        }
        var timedOut = false
        if finished.wait(timeout: .now() + timeout) == .timedOut {
            timedOut = true
            process.terminate()
            if finished.wait(timeout: .now() + 5) == .timedOut {
                kill(process.processIdentifier, SIGKILL)
                _ = finished.wait(timeout: .now() + 5)
            }
        }
        try? out.close()
        try? err.close()
        try? inHandle.close()
        let stdout = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        return Result(
            status: timedOut ? -1 : process.terminationStatus,
            standardOutput: stdout,
            standardError: stderr,
            timedOut: timedOut
        )
    }

    /// ``run(_:_:input:environment:timeout:)`` off the cooperative pool, so a blocking wait never starves the tasks of a
    /// server the test runs in-process.
    package static func runInBackground(
        _ executable: String,
        _ arguments: [String],
        input: Data? = nil,
        environment: [String: String]? = nil,
        timeout: TimeInterval = 60
    ) async -> Result {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                let result = run(executable, arguments, input: input, environment: environment, timeout: timeout)
                continuation.resume(returning: result)
            }
        }
    }

    /// The path of `tool` on `PATH`, or `nil`.
    package static func which(_ tool: String) -> String? {
        for directory in ["/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin"] {
            let path = directory + "/" + tool
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }
}
