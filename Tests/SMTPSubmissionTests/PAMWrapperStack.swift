import Foundation
import XCTest

/// A PAM stack for the daemon under test, through cwrap's `libpam_wrapper` (Debian's libpam-wrapper): the wrapper is
/// preloaded into that one process (``environment``), reads its service files from a temporary `pam.d`, and
/// `pam_matrix` checks passwords against a text file. No system account, `/etc/pam.d` or `/etc/shadow` is touched.
struct PAMWrapperStack {
    /// `user:password:service` lines of the passdb.
    static let accounts = [
        "pamuser:pam-secret:sasl-smtpd",
        // Known to the auth stack, but pam_matrix's account stage allows it only the service imap.
        "imaponly:imap-secret:imap",
    ]

    /// The directory that holds `pam.d/` and the passdb.
    let directory: String
    /// The directory of the multiarch libraries that holds `libpam_wrapper.so`.
    let libraryDirectory: String

    /// The environment that makes the daemon use this stack.
    var environment: [String: String] {
        [
            "LD_PRELOAD": libraryDirectory + "/libpam_wrapper.so", "PAM_WRAPPER": "1",
            "PAM_WRAPPER_SERVICE_DIR": directory + "/pam.d",
        ]
    }

    /// Writes the service `sasl-smtpd`: `before` lines of the auth stage (a slow module, a failure delay), then
    /// pam_matrix for auth and account, over a passdb of `accounts`.
    ///
    /// - Throws: `XCTSkip` when libpam-wrapper is not installed.
    init(directory: String, before: [String] = [], accounts: [String] = PAMWrapperStack.accounts) throws {
        let found = try Self.libraryDirectory()
        self.directory = directory
        self.libraryDirectory = found
        try FileManager.default.createDirectory(atPath: directory + "/pam.d", withIntermediateDirectories: true)
        try (accounts.joined(separator: "\n") + "\n").write(
            toFile: directory + "/passdb",
            atomically: true,
            encoding: .utf8
        )
        let matrix = "\(found)/pam_wrapper/pam_matrix.so passdb=\(directory)/passdb"
        let lines = before + ["auth required \(matrix)", "account required \(matrix)"]
        try (lines.joined(separator: "\n") + "\n").write(
            toFile: directory + "/pam.d/sasl-smtpd",
            atomically: true,
            encoding: .utf8
        )
        // libpam reads the fallback service too, and complains on the daemon's standard error when it is missing.
        let deny = "\(found)/security/pam_deny.so"
        try "auth required \(deny)\naccount required \(deny)\n".write(
            toFile: directory + "/pam.d/other",
            atomically: true,
            encoding: .utf8
        )
    }

    /// The multiarch directory holding `libpam_wrapper.so`.
    ///
    /// - Throws: `XCTSkip` when libpam-wrapper is not installed.
    static func libraryDirectory() throws -> String {
        let candidates = ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib")) ?? []).map {
            "/usr/lib/" + $0
        }
        guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0 + "/libpam_wrapper.so") })
        else { throw XCTSkip("libpam-wrapper is not installed (scripts/install-deps.sh)") }
        return found
    }

    /// A line of the auth stage running a system PAM module (`pam_exec`, `pam_faildelay`) by its full path.
    static func systemModule(_ name: String, _ arguments: String) throws -> String {
        let path = try libraryDirectory() + "/security/" + name
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("\(path) is missing (libpam-modules)") }
        return "auth optional \(path) \(arguments)"
    }
}
