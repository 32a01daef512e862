import Foundation
import XCTest

extension XCTestCase {
    /// A directory of this test's own under /tmp, removed when the test ends.
    func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "passwordchange-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func write(_ text: String, to path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }
}
