import Foundation
import XCTest

/// An executable of this package that `swift build` put beside the test bundle, or the path in `override` (an
/// environment variable); skips the test when it is not built.
package func builtExecutable(_ name: String, override: String) throws -> String {
    if let path = ProcessInfo.processInfo.environment[override] { return path }
    var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = directory.appendingPathComponent(name).path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        directory = directory.deletingLastPathComponent()
    }
    throw XCTSkip("\(name) is not built beside the tests (swift build --build-tests)")
}
