import Foundation
import ServerKitTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A private Dovecot with no listener, only its auth service and the SQL passdb of the guide, in a test's folder.
struct DovecotInstance {
    private let configuration: String
    private let process: Process

    /// Writes the configuration beside `sql` (the passdb's settings) and starts Dovecot.
    init(directory: URL, sql: String) throws {
        let base = directory.appendingPathComponent("dovecot")
        for name in ["run", "state", "home"] {
            try FileManager.default.createDirectory(
                at: base.appendingPathComponent(name),
                withIntermediateDirectories: true
            )
        }
        let sqlFile = base.appendingPathComponent("sql.conf").path
        try sql.write(toFile: sqlFile, atomically: true, encoding: .utf8)
        configuration = base.appendingPathComponent("dovecot.conf").path
        let text = """
            base_dir = \(base.path)/run
            state_dir = \(base.path)/state
            log_path = \(base.path)/log
            protocols =
            ssl = no
            auth_mechanisms = plain login scram-sha-256
            auth_failure_delay = 0
            passdb {
              driver = sql
              args = \(sqlFile)
            }
            userdb {
              driver = static
              args = uid=nobody gid=nogroup home=\(base.path)/home
            }

            """
        try text.write(toFile: configuration, atomically: true, encoding: .utf8)
        // In the foreground, so the test owns the process and ends it.
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/dovecot")
        process.arguments = ["-F", "-c", configuration]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let socket = base.appendingPathComponent("run/auth-client").path
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: socket), process.isRunning, Date() < deadline {
            usleep(50_000)
        }
        guard FileManager.default.fileExists(atPath: socket) else {
            stop()
            let log = (try? String(contentsOfFile: base.appendingPathComponent("log").path, encoding: .utf8)) ?? ""
            throw SASLDBTestFailure("dovecot did not start: \(log)")
        }
    }

    /// Whether `doveadm auth test` accepts the password.
    func authenticates(_ user: String, _ password: String) -> Bool {
        ProcessRunner.run("/usr/bin/doveadm", ["-c", configuration, "auth", "test", user, password], timeout: 30).status
            == 0
    }

    /// Stops the instance and waits for it.
    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}
