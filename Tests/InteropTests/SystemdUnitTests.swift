import Foundation
import XCTest

/// The shipped systemd units (dist/systemd) with every feature: `Tests/Interop/systemd-units.sh` runs the daemon and
/// the socket-activated password writer in the file-system views `scripts/unit-sandbox.py` rebuilds from the unit
/// files (read-only `/`, `ReadWritePaths=`, `RuntimeDirectory=`, private `/tmp`, the units' users and capabilities),
/// inside a private namespace whose `/etc`, `/usr/sbin` and `/var/spool` are overlays, with real clients.
final class SystemdUnitTests: XCTestCase {
    private static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    func testEveryFeatureWorksUnderTheShippedUnits() throws {
        guard geteuid() == 0 else { throw XCTSkip("mount namespaces and the units' users need root") }
        try TestSupport.require("unshare", "setpriv", "swaks", "openssl", "systemd-sysusers", "systemd-tmpfiles")
        try TestSupport.require("systemd-socket-activate")
        let binaries = URL(fileURLWithPath: TestSupport.sasldb).deletingLastPathComponent()
        guard FileManager.default.isExecutableFile(atPath: binaries.appendingPathComponent("sasl-smtpd").path) else {
            throw XCTSkip("sasl-smtpd is not built beside sasldb (swift build --build-tests)")
        }
        let state = try TestSupport.temporaryDirectory(for: self)
        let logs = state.appendingPathComponent("logs")
        let runDirectory = state.appendingPathComponent("run")
        for directory in [logs, runDirectory] {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }
        let root = Self.repository.path
        // Through sh (see PackageTests.reaped).
        var arguments = ["-c", PackageTests.reaped, "sh", "\(root)/scripts/unit-sandbox.py", "host"]
        for directory in ["/etc", "/usr/sbin", "/var/spool"] {
            arguments += [
                "--overlay", "\(directory)=\(state.path)/overlay\(directory.replacingOccurrences(of: "/", with: "-"))",
            ]
        }
        arguments += ["--bind", "/run=\(runDirectory.path)", "--", "bash", "\(root)/Tests/Interop/systemd-units.sh"]

        let run = try ScenarioRun(
            "/bin/sh",
            arguments,
            environment: ["REPO": root, "BIN": binaries.path, "LOGS": logs.path],
            logs: logs,
            logNames: ["daemon.log", "writer.log", "notify.log", "swaks.log"],
            timeout: 240
        )

        run.assertProved([
            "Type=notify: READY=1 from the main process, which runs as sasl-smtpd",
            "RuntimeDirectory=: /run/sasl-smtpd made for the daemon's user, holding passwd_socket",
            "STARTTLS on submission, AUTH PLAIN, message in the Maildir spool",
            "implicit TLS, message in the Maildir spool",
            "password socket: the writer unit replaced /etc/sasldb2, still root:sasl 0660",
            "poppassd on loopback: changed through the writer unit, the next AUTH takes the new password",
            "SIGHUP (ExecReload): RELOADING=1 with MONOTONIC_USEC, READY=1, the new configuration serves",
            "graceful stop: STOPPING=1, exit 0",
            "sink = sendmail runs under the unit",
        ])
        XCTAssertTrue(run.result.stdoutText.contains("listed in RestartPreventExitStatus="), run.report)
    }
}
