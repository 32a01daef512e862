import Foundation
import Logging
import NIOCore
import SASLDB
import SASLMechanisms
import ServerKit
import ServerKitTestSupport
import ServiceLifecycle
import XCTest

@testable import AuthService

/// The other clients of the protocol against our socket: Exim's `dovecot` authenticator (Debian's binary, unpacked by
/// `scripts/exim-peer.sh`, one SMTP session in `-bh` mode) and `doveadm auth test` (package dovecot-core).
final class ExternalDovecotClientTests: XCTestCase {
    private static let login = "alice@example.org"
    private static let password = "exim and dove 3"

    private var directory = ""
    private var socketPath: String { directory + "/auth" }

    override func setUpWithError() throws {
        directory = try makeTestDirectory(for: self)
    }

    /// Serves the socket (mode 0666: Exim's `-bh` session may run as its own user) while `body` runs. PLAIN and LOGIN
    /// run without `secured`, since `-bh` has no TLS.
    private func servingOurSocket(_ body: () async throws -> Void) async throws {
        let store = try makeTestStore(in: directory, users: [(Self.login, Self.password)])
        let context = SASLServerContext(lookup: store, hostName: "mail.example.org", defaultRealm: "example.org")
        let policy = MechanismPolicy(enabled: ["PLAIN", "LOGIN"], allowedWithoutTLS: ["PLAIN", "LOGIN"])
        let server = try DovecotAuthServer(
            configuration: DovecotAuthServerConfiguration(
                localSocket: .init(path: socketPath, mode: 0o666),
                connection: .init(context: context, mechanisms: DovecotMechanismPolicy(standard: policy)),
                failureDelay: .milliseconds(50)
            ),
            logger: Logger(label: "dovecot-external-test")
        )
        try await AuthServiceTests.serving(server, body)
    }

    // MARK: - Exim

    /// One SMTP session of Exim in `-bh` mode (as from 192.0.2.25) with `commands`; its transcript.
    private func exim(_ commands: [String]) async throws -> String {
        guard let root = ProcessInfo.processInfo.environment["SASLDB_EXIM_DIR"] else {
            try missingPeer("SASLDB_EXIM_DIR is not set: run scripts/exim-peer.sh DIR and set it to DIR")
        }
        let wrapper = "/usr/lib/x86_64-linux-gnu/libnss_wrapper.so"
        guard FileManager.default.fileExists(atPath: wrapper) else {
            try missingPeer("libnss-wrapper is not installed")
        }
        let spool = directory + "/exim"
        try FileManager.default.createDirectory(atPath: spool + "/log", withIntermediateDirectories: true)
        var authenticators = ""
        for mechanism in ["PLAIN", "LOGIN"] {
            authenticators += """
                dovecot_\(mechanism.lowercased()):
                  driver = dovecot
                  public_name = \(mechanism)
                  server_socket = \(socketPath)
                  server_set_id = $auth1

                """
        }
        let configuration = """
            primary_hostname = exim.example.net
            spool_directory = \(spool)
            log_file_path = \(spool)/log/%slog
            exim_user = nobody
            exim_group = nogroup
            keep_environment =
            acl_smtp_rcpt = accept
            begin authenticators
            \(authenticators)
            """
        try configuration.write(toFile: spool + "/exim.conf", atomically: true, encoding: .utf8)
        let environment = [
            "LD_PRELOAD": wrapper, "NSS_WRAPPER_PASSWD": root + "/passwd", "NSS_WRAPPER_GROUP": root + "/group",
        ]
        let input = (["EHLO client.example.net"] + commands + ["QUIT"]).map { $0 + "\r\n" }.joined()
        let result = await ProcessRunner.runInBackground(
            root + "/usr/sbin/exim4",
            ["-C", spool + "/exim.conf", "-bh", "192.0.2.25"],
            input: Data(input.utf8),
            environment: environment,
            timeout: 60
        )
        return result.standardOutput + result.standardError
    }

    func testEximLogsInWithPLAINAndLOGINThroughOurSocket() async throws {
        try await servingOurSocket {
            let plain = Base64.encode(Array("\0\(Self.login)\0\(Self.password)".utf8))
            let transcript = try await exim(["AUTH PLAIN \(plain)"])
            XCTAssertTrue(transcript.contains("235 Authentication succeeded"), transcript)
            let login = try await exim([
                "AUTH LOGIN", Base64.encode(Array(Self.login.utf8)), Base64.encode(Array(Self.password.utf8)),
            ])
            XCTAssertTrue(login.contains("235 Authentication succeeded"), login)
        }
    }

    func testEximRefusesAWrongPassword() async throws {
        try await servingOurSocket {
            let plain = Base64.encode(Array("\0\(Self.login)\0wrong".utf8))
            let transcript = try await exim(["AUTH PLAIN \(plain)"])
            XCTAssertTrue(transcript.contains("535 Incorrect authentication data"), transcript)
        }
    }

    // MARK: - doveadm

    private func doveadm(_ password: String) async throws -> ProcessRunner.Result {
        guard let doveadm = ProcessRunner.which("doveadm") else {
            try missingPeer("doveadm (Debian package dovecot-core) is not installed")
        }
        return await ProcessRunner.runInBackground(
            doveadm,
            ["auth", "test", "-a", socketPath, "-x", "service=smtp", "-x", "secured", Self.login, password],
            timeout: 60
        )
    }

    func testDoveadmAuthTestSucceedsAndFails() async throws {
        try await servingOurSocket {
            let good = try await doveadm(Self.password)
            XCTAssertEqual(good.status, 0, good.standardOutput + good.standardError)
            XCTAssertTrue(good.standardOutput.contains("auth succeeded"), good.standardOutput)
            let bad = try await doveadm("wrong")
            XCTAssertNotEqual(bad.status, 0, bad.standardOutput)
            XCTAssertTrue(bad.standardOutput.contains("auth failed"), bad.standardOutput + bad.standardError)
        }
    }
}
