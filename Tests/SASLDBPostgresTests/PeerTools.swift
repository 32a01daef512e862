import Foundation
import XCTest

/// The peer programs a test needs: missing on CI is a failure (.ci/run installs them all), on a developer's machine a
/// skip that names the program.
enum PeerTools {
    static func require(_ tools: String..., file: StaticString = #filePath, line: UInt = #line) throws {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let directories = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"]
        for tool in tools
        where !directories.contains(where: { FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)") }) {
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                XCTFail("\(tool) is not installed: .ci/run must install it", file: file, line: line)
            }
            throw XCTSkip("\(tool) is not installed")
        }
    }
}
