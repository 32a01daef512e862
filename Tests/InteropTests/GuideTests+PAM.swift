import Foundation
import XCTest

/// The PAM section of `authentication.md`: its configuration is what `--check-config` takes and prints, and its
/// stack is the one the repository ships as `/etc/pam.d/sasl-smtpd`.
extension GuideTests {
    func testAuthenticationGuidePAMSettingsAreAcceptedAndItsStackIsTheShippedOne() throws {
        let bin = try binaries()
        let root = try host()
        let settings = try block("pam-smtps", of: "authentication.md")
        let configuration = try plainConfiguration(root: root, extra: settings)
        let checked = try TestSupport.run(bin + "/sasl-smtpd", ["--config", configuration, "--check-config"])
        XCTAssertEqual(checked.status, 0, checked.stderrText)
        for line in settings.split(separator: "\n") {
            XCTAssertTrue(checked.stdoutText.contains(line + "\n"), "\(line) not in\n\(checked.stdoutText)")
        }

        let shipped = try String(
            contentsOf: Self.docs.deletingLastPathComponent().appendingPathComponent("dist/pam.d/sasl-smtpd"),
            encoding: .utf8
        )
        let directives = shipped.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }.map(String.init)
        XCTAssertEqual(
            directives,
            try block("pam-stack", of: "authentication.md").split(separator: "\n").map(String.init)
        )
    }
}
