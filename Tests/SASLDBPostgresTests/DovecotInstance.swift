import Foundation
import ServerKitTestSupport

/// A private Dovecot with no listener, only its auth service and the SQL passdb of the guide, in a test's folder.
struct DovecotInstance {
    private let configuration: String
    private let pidFile: String

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
        pidFile = base.appendingPathComponent("run/master.pid").path
        let text = """
            base_dir = \(base.path)/run
            state_dir = \(base.path)/state
            log_path = \(base.path)/log
            protocols =
            ssl = no
            auth_mechanisms = plain login scram-sha-256
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
        let started = ProcessRunner.run("/usr/sbin/dovecot", ["-c", configuration], timeout: 30)
        guard started.status == 0 else {
            throw SASLDBTestFailure("dovecot did not start: \(started.standardError)")
        }
    }

    /// Whether `doveadm auth test` accepts the password.
    func authenticates(_ user: String, _ password: String) -> Bool {
        ProcessRunner.run("/usr/bin/doveadm", ["-c", configuration, "auth", "test", user, password], timeout: 30).status
            == 0
    }

    /// Stops the instance.
    func stop() {
        _ = ProcessRunner.run("/usr/bin/doveadm", ["-c", configuration, "stop"], timeout: 30)
    }
}
