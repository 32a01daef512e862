import Foundation
import XCTest

/// A run of one of the scenario scripts of `Tests/Interop` (`systemd-units.sh`, `deb-lifecycle.sh`), which print one
/// `ok: <step>` line per step they proved and exit non-zero at the first that failed: its result, and a report of
/// its output and the logs it left for the failure messages.
struct ScenarioRun {
    let result: CommandResult
    let report: String

    /// Runs `executable` with `arguments` and `environment`, then reads the logs named `logNames` in `logs`.
    init(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String],
        logs: URL,
        logNames: [String],
        timeout: TimeInterval
    ) throws {
        result = try TestSupport.run(executable, arguments, environment: environment, timeout: timeout)
        let logText = logNames.map { name in
            "--- \(name)\n" + ((try? String(contentsOf: logs.appendingPathComponent(name), encoding: .utf8)) ?? "")
        }.joined(separator: "\n")
        report = result.stdoutText + result.stderrText + "\n" + logText
    }

    /// Asserts that the script exited 0 having proved every one of `steps`.
    func assertProved(_ steps: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(result.status, 0, report, file: file, line: line)
        for step in steps {
            XCTAssertTrue(result.stdoutText.contains("ok: \(step)\n"), "\(step)\n\(report)", file: file, line: line)
        }
    }
}
