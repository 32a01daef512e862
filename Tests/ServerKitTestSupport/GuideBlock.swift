import Foundation
import XCTest

/// The lines of the code block marked `<!-- guide-test: name -->` in `Docs/<guide>`, so that a test runs what the
/// guide says (and fails when the guide loses the block).
package func guideBlock(_ guide: String, _ name: String) throws -> [String] {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let text = try String(contentsOf: root.appendingPathComponent("Docs/\(guide)"), encoding: .utf8)
    let lines = text.components(separatedBy: "\n")
    let marker = try XCTUnwrap(lines.firstIndex(of: "<!-- guide-test: \(name) -->"), "\(guide) lost block \(name)")
    return Array(lines[(marker + 2)...].prefix { $0 != "```" })
}
