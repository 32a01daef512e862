import Foundation
import SASLDB
import SASLDBPostgres
import ServerKitTestSupport
import Synchronization
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// `sasl-smtpd` daemons on one PostgreSQL store: a change through one is what the other checks next; a user added by
/// `sasldb` with its own configuration logs in on both; the database stopped under load for longer than the pool's
/// reconnect back-off likes gives 454 at once, never 535, and logins succeed again within seconds of its return.
final class PostgresDaemonTests: XCTestCase {
    private(set) var directory: URL!
    private(set) var smtpd = ""

    override func setUpWithError() throws {
        guard geteuid() == 0 else { throw XCTSkip("the daemon tests start sasl-smtpd as root (it drops to nobody)") }
        smtpd = try builtExecutable("sasl-smtpd", override: "SASL_SMTPD_BINARY")
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("pgd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path)
    }

    override func tearDown() {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    func testTwoDaemonsAndAToolOnOneDatabaseSeeEveryChangeAtOnce() throws {
        let database = try PostgresTestDatabase("daemons")
        defer { database.drop() }
        let url = try database.url
        let backend = try XCTUnwrap(
            PostgresBackendProvider(mode: .single).makeBackend(try database.location) as? any ServerBackend
        )
        _ = try backend.initializeSchema()

        // A third machine: the tool with a site file of its own naming the store.
        let sasldb = try builtExecutable("sasldb", override: "SASLDB_BINARY")
        let site = directory.appendingPathComponent("tool-site.conf")
        try "postgres_url: \(url)\ndefault_realm: example.org\n".write(to: site, atomically: true, encoding: .utf8)
        let added = ProcessRunner.run(
            sasldb,
            ["add", "--stdin", "alice"],
            input: Data("first-pw\n".utf8),
            environment: ["SASLDB_CONFIG": site.path],
            timeout: 60
        )
        XCTAssertEqual(added.status, 0, added.standardError)

        let one = try SMTPDaemon.start(
            smtpd,
            url: url,
            in: directory.appendingPathComponent("one"),
            extra: "poppassd_listen = 127.0.0.1:0",
            test: self
        )
        let two = try SMTPDaemon.start(smtpd, url: url, in: directory.appendingPathComponent("two"), test: self)
        for daemon in [one, two] {
            XCTAssertEqual(
                LoopbackLineClient.authPlain(port: daemon.smtpPort, user: "alice", password: "first-pw"),
                235,
                daemon.currentLog
            )
            XCTAssertEqual(LoopbackLineClient.authPlain(port: daemon.smtpPort, user: "alice", password: "nope"), 535)
            XCTAssertEqual(
                LoopbackLineClient.authPlain(port: daemon.smtpPort, user: "nobody", password: "first-pw"),
                535
            )
        }
        // A change through the first daemon's password service (its root writer writes the table)...
        XCTAssertTrue(
            LoopbackLineClient.changePassword(port: one.poppassdPort, user: "alice", old: "first-pw", new: "second-pw"),
            one.currentLog
        )
        // ...is what the second checks at its very next AUTH.
        XCTAssertEqual(
            LoopbackLineClient.authPlain(port: two.smtpPort, user: "alice", password: "second-pw"),
            235,
            two.currentLog
        )
        XCTAssertEqual(LoopbackLineClient.authPlain(port: two.smtpPort, user: "alice", password: "first-pw"), 535)
        XCTAssertEqual(LoopbackLineClient.authPlain(port: one.smtpPort, user: "alice", password: "second-pw"), 235)
    }

    func testTheDatabaseStoppedUnderLoadGivesTemporaryFailuresAndRecovers() throws {
        let cluster = try OwnCluster(directory: directory)
        defer { cluster.stop() }
        var location = try PostgresLocation(url: cluster.url)
        location.database = "postgres"
        // The default timeout: a 454 that waited for it would take 5 s.
        location.queryTimeoutMilliseconds = 5000
        let daemon = try daemonWithAlice(location)

        let record = LoadRecord()
        let port = daemon.smtpPort
        let started = Date()
        let load = DispatchGroup()
        for _ in 0..<4 {
            DispatchQueue.global().async(group: load) {
                while record.running.load(ordering: .relaxed) {
                    let sent = Date()
                    let code = LoopbackLineClient.authPlain(port: port, user: "alice", password: "pw")
                    let answered = Date()
                    record.codes.withLock {
                        $0.append((answered.timeIntervalSince(started), code, answered.timeIntervalSince(sent)))
                    }
                }
            }
        }
        Thread.sleep(forTimeInterval: 2)
        try cluster.control("stop")
        let stopped = Date().timeIntervalSince(started)
        // Longer than a minute of pool back-off would forgive: postgres-nio's next attempt would come ~10 s later.
        Thread.sleep(forTimeInterval: 25)
        try cluster.control("start")
        let restarted = Date().timeIntervalSince(started)
        var recovered: Double?
        while recovered == nil, Date().timeIntervalSince(started) < restarted + 30 {
            Thread.sleep(forTimeInterval: 0.2)
            recovered = record.codes.withLock { $0.first { $0.0 > restarted && $0.1 == 235 }?.0 }
        }
        Thread.sleep(forTimeInterval: 1)
        record.running.store(false, ordering: .relaxed)
        load.wait()

        let all = record.codes.withLock { $0 }
        XCTAssertTrue(daemon.process.isRunning, "the daemon ended: \(daemon.currentLog)")
        XCTAssertTrue(all.contains { $0.0 < stopped && $0.1 == 235 }, "no success before the stop")
        let whileDown = all.filter { $0.0 > stopped + 0.5 && $0.0 < restarted }
        XCTAssertFalse(whileDown.isEmpty, "no AUTH ran while the database was down")
        XCTAssertEqual(Set(whileDown.map(\.1)), [454], "while down: \(whileDown.map(\.1))")
        // Once the pool knows the server is gone, a 454 takes no query timeout: only the first AUTHs after the stop
        // wait for the probe.
        let slow = whileDown.filter { $0.0 > stopped + 2 && $0.2 > 1 }
        XCTAssertEqual(slow.count, 0, "454s that waited: \(slow.map { String(format: "%.2f s", $0.2) })")
        let medianWait = whileDown.map(\.2).sorted()[whileDown.count / 2]
        XCTAssertLessThan(medianWait, 0.5, "a 454 while down took \(medianWait) s (median)")
        XCTAssertFalse(all.contains { $0.1 == 535 }, "a 535 was answered: the password was right all along")
        let recovery = try XCTUnwrap(
            recovered,
            "no success within 30 s of the restart: \(daemon.currentLog.suffix(2000))"
        )
        XCTAssertLessThan(recovery - restarted, 3, "logins came back \(recovery - restarted) s after the restart")
        print(
            "database restart: \(all.count) AUTHs, \(whileDown.count) answered 454 while down (median "
                + String(format: "%.3f", medianWait) + " s each), success again "
                + String(format: "%.2f", recovery - restarted) + " s after the server was back"
        )
    }
}

extension PostgresDaemonTests {
    /// A daemon in the folder `d` on `location`, whose tables are made and hold alice@example.org with password `pw`.
    func daemonWithAlice(_ location: PostgresLocation) throws -> DaemonProcess {
        let store = CredentialStore(backend: PostgresBackendProvider(mode: .single).makeBackend(location))
        _ = try XCTUnwrap(store.backend as? any ServerBackend).initializeSchema()
        try store.setPassword(Array("pw".utf8), for: try UserID(parsing: "alice@example.org", defaultRealm: ""))
        return try SMTPDaemon.start(
            smtpd,
            url: location.description,
            in: directory.appendingPathComponent("d"),
            test: self
        )
    }
}

/// What the load threads share: each AUTH's answer time, reply code and duration, and whether to go on.
private final class LoadRecord: Sendable {
    let codes = Mutex<[(Double, Int, Double)]>([])
    let running = Atomic<Bool>(true)
}

/// A PostgreSQL cluster of one test's own (scripts/postgres-test-cluster.sh with a state file in the test's folder),
/// so stopping it leaves the other tests' cluster alone.
struct OwnCluster {
    private static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/postgres-test-cluster.sh").path
    private let state: String
    /// The administrator's URL.
    let url: String
    private let control: String

    init(directory: URL) throws {
        guard ProcessInfo.processInfo.environment["SASLDB_TEST_POSTGRES_URL"] != nil else {
            throw XCTSkip("no test PostgreSQL: run eval \"$(scripts/postgres-test-cluster.sh start)\"")
        }
        state = directory.appendingPathComponent("cluster.path").path
        let started = ProcessRunner.run(
            "/bin/bash",
            [Self.script, "start"],
            environment: ["SASLDB_TEST_POSTGRES_STATE": state],
            timeout: 120
        )
        guard started.status == 0 else {
            throw SASLDBTestFailure("the cluster did not start: \(started.standardError)")
        }
        func value(_ name: String) -> String? {
            started.standardOutput.split(separator: "\n").first { $0.hasPrefix("export \(name)=") }
                .map {
                    String($0.dropFirst("export \(name)=".count)).trimmingCharacters(
                        in: CharacterSet(charactersIn: "'")
                    )
                }
        }
        guard let url = value("SASLDB_TEST_POSTGRES_URL"), let control = value("SASLDB_TEST_POSTGRES_CTL") else {
            throw SASLDBTestFailure("the cluster script printed no environment: \(started.standardOutput)")
        }
        self.url = url
        self.control = control
    }

    /// Runs pg_ctl `action` (stop, start).
    func control(_ action: String) throws {
        let result = ProcessRunner.run(control, [action], timeout: 60)
        guard result.status == 0 else { throw SASLDBTestFailure("pg_ctl \(action): \(result.standardError)") }
    }

    func stop() {
        _ = ProcessRunner.run(
            "/bin/bash",
            [Self.script, "stop"],
            environment: ["SASLDB_TEST_POSTGRES_STATE": state],
            timeout: 60
        )
    }
}
