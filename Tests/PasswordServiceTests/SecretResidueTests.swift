import Foundation
import SASLDB
import ServerKitTestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// No password a client sent stays in the daemon's memory after its use: SMTP AUTH PLAIN and LOGIN, right and wrong,
/// a refused poppassd change and a refused saslauthd request, then the daemon's writable memory is searched (as root,
/// through /proc). Whether a freed copy survives depends on how `malloc` reuses memory, so a leak shows in most runs,
/// not all: the search covers every copy ever made, wiped or not.
///
/// The user is stored with verifiers only, so any copy found came from what the client sent, not from the store.
final class SecretResidueTests: XCTestCase {
    func testNoPasswordAClientSentStaysInTheDaemonsMemory() throws {
        let user = try TestUser.create(for: self)
        let smtpd = try builtExecutable("sasl-smtpd", override: "SASL_SMTPD_BIN")
        let directory = NSTemporaryDirectory() + "residue-" + UUID().uuidString
        XCTAssertEqual(mkdir(directory, 0o755), 0)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: directory) }
        let database = directory + "/sasldb2"
        var configuration = StoreConfiguration.file(database)
        configuration.secretPolicy = .noPlaintext
        let alice = try UserID(parsing: "alice@example.org", defaultRealm: "x")
        try StoreFactory.makeStore(configuration).setPassword(Array("Zebra-quartz-77".utf8), for: alice)
        XCTAssertEqual(chown(database, 0, user.gid), 0)
        XCTAssertEqual(chmod(database, 0o640), 0)

        let daemon = try DaemonProcess.startOnLoopback(
            smtpd,
            mechanisms: "PLAIN LOGIN",
            extra: """
                sasldb_path = \(database)
                poppassd_listen = 127.0.0.1:0
                passwd_socket =
                saslauthd_socket = \(directory)/mux
                """,
            in: directory,
            environment: ["SASLDB_CONFIG": directory + "/none.conf"],
            test: self
        )
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Interop/secret-residue.py").path
        let result = runProcess(
            "/usr/bin/python3",
            [
                script, String(daemon.process.processIdentifier), String(daemon.smtpPort), String(daemon.poppassdPort),
                directory + "/mux", "alice@example.org", "Zebra-quartz-77", "Wrong-guess-99", "Fresh-horse-31",
                "Socket-guess-42",
            ]
        )
        XCTAssertEqual(result.status, 0, result.output)
        let counts = (try? JSONSerialization.jsonObject(with: Data(result.output.utf8))) as? [String: Int]
        XCTAssertEqual(
            counts,
            ["Zebra-quartz-77": 0, "Wrong-guess-99": 0, "Fresh-horse-31": 0, "Socket-guess-42": 0],
            result.output
        )
        daemon.stop()
    }
}
