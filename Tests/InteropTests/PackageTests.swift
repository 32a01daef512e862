import Foundation
import XCTest

/// The packages: the .deb through its whole life on a debootstrapped Debian 12 (`Tests/Interop/deb-lifecycle.sh`),
/// lintian on it, and the RPM spec through rpmbuild. scripts/test.sh prepares the tree and builds the .deb twice
/// (the previous build and this one) and names them in `SASLDB_DEBIAN_TREE`, `SASLDB_DEB` and
/// `SASLDB_PREVIOUS_DEB`; by hand:
///
///     scripts/debian-tree.sh create /tmp/sasldb-debian12
///     VERSION=0.0.1 OUT=/tmp/previous scripts/build-deb.sh; scripts/build-deb.sh
final class PackageTests: XCTestCase {
    private static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// Runs the arguments as a command under a shell that waits for it: a tool run directly (rpmbuild, unshare's
    /// exec chain) was seen to exit without the test's `Process` ever noticing, holding the test until its timeout.
    static let reaped = "\"$@\"; exit $?"

    private func environment(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            throw XCTSkip("\(name) is not set: scripts/test.sh sets it (see PackageTests for doing it by hand)")
        }
        return value
    }

    func testTheDebInstallsServesUpgradesAndPurgesOnDebian12() throws {
        guard geteuid() == 0 else { throw XCTSkip("chroot and mounts need root") }
        let tree = try environment("SASLDB_DEBIAN_TREE")
        let deb = try environment("SASLDB_DEB")
        let previous = try environment("SASLDB_PREVIOUS_DEB")
        try TestSupport.require("swaks", "unshare", "chroot")
        let work = try TestSupport.temporaryDirectory(for: self)

        let run = try ScenarioRun(
            "/bin/sh",
            [
                "-c", Self.reaped, "sh", "unshare", "--mount", "--propagation", "private", "bash",
                "\(Self.repository.path)/Tests/Interop/deb-lifecycle.sh",
            ],
            environment: [
                "TREE": tree, "DEB": deb, "PREVIOUS_DEB": previous, "REPO": Self.repository.path, "WORK": work.path,
            ],
            logs: work,
            logNames: ["dpkg.log", "daemon.log", "writer.log", "swaks.log"],
            timeout: 300
        )

        run.assertProved([
            "install: sasl-smtpd user in group sasl, /etc/sasldb2 root:sasl 0660, spool, key, units enabled",
            "the package's saslpasswd2 wrote /etc/sasldb2, still root:sasl 0660",
            "cyrus-names: saslpasswd2 and sasldblistusers2 diverted on request and given back",
            "the daemon starts under its unit as sasl-smtpd",
            "self-service changes over the local socket and poppassd landed; AUTH takes the new password",
            "remove: programs gone, configuration and database kept",
            "purge: nothing left but the accounts, the database holding users and the waiting message",
            "a new /etc/sasldb2 follows dpkg-statoverride (root:sasl 0640)",
            "purge removes the empty database it made",
        ])
        XCTAssertTrue(run.result.stdoutText.contains("ok: upgrade from the previous build to "), run.report)
    }

    func testLintianFindsNothingUnexplained() throws {
        let deb = try environment("SASLDB_DEB")
        try TestSupport.require("lintian")
        let result = try TestSupport.run(
            "/bin/sh",
            ["-c", Self.reaped, "sh", "lintian", "--fail-on", "warning", "--tag-display-limit", "0", deb],
            timeout: 300
        )
        XCTAssertEqual(result.status, 0, result.stdoutText + result.stderrText)
    }

    func testTheRPMSpecBuildsWithRpmbuild() throws {
        // The release binaries the .deb was made from are packaged: swift test holds the build directory, so
        // rpmbuild must not run swift build.
        _ = try environment("SASLDB_DEB")
        let executables = try environment("SASLDB_EXECUTABLES")
        try TestSupport.require("rpmbuild")
        let top = try TestSupport.temporaryDirectory(for: self)
        let result = try TestSupport.run(
            "/bin/sh",
            [
                "-c", Self.reaped, "sh", "rpmbuild", "-bb", "--nodeps", "--define", "_topdir \(top.path)", "--define",
                "prebuilt \(Self.repository.path)/.build/x86_64-unknown-linux-gnu/release", "--define",
                "_sourcedir \(Self.repository.path)", "--define", "executables \(executables)",
                "\(Self.repository.path)/dist/rpm/sasldb.spec",
            ],
            timeout: 600
        )
        XCTAssertEqual(result.status, 0, result.stdoutText + result.stderrText)
        let rpms = try FileManager.default.subpathsOfDirectory(atPath: top.appendingPathComponent("RPMS").path)
            .filter { $0.hasSuffix(".rpm") }
        XCTAssertEqual(rpms.count, 1, "\(rpms)")
        let rpm = top.appendingPathComponent("RPMS").appendingPathComponent(try XCTUnwrap(rpms.first)).path
        let listing = try TestSupport.run("rpm", ["-qlp", "--configfiles", rpm]).stdoutText
        XCTAssertTrue(listing.contains("/etc/sasl-smtpd.conf"), listing)
        let files = try TestSupport.run("rpm", ["-qlp", rpm]).stdoutText
        for path in ["/usr/sbin/sasl-smtpd", "/usr/bin/sasldb", "/usr/lib/systemd/system/sasl-smtpd-writer.socket"] {
            XCTAssertTrue(files.contains(path + "\n"), "\(path)\n\(files)")
        }
        // New databases in GDBM, as Fedora's and RHEL's Cyrus make them.
        let site = try TestSupport.run(
            "/bin/sh",
            ["-c", "rpm2cpio \"$1\" | cpio -i --quiet --to-stdout ./etc/sasl2/sasldb.conf", "sh", rpm]
        ).stdoutText
        XCTAssertTrue(site.contains("\ndatabase_format: gdbm\n"), site)
    }
}
