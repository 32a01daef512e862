import Foundation
import NIOCore
import NIOPosix
import XCTest

/// A private Postfix (Debian's package) that takes mail on a loopback port of its own, configured by each test (a relay
/// through the server under test, an smtpd authenticating through our Dovecot auth socket).
///
/// Everything lives in one temporary directory: `main.cf` and `master.cf` (`postfix -c`), the queue, the data
/// directory, the test's maps and `maillog_file` (there is no syslog). It changes nothing of the default instance
/// (it reads only the package's own files in `/etc/postfix`, through `meta_directory`), runs no chroot, listens only
/// on 127.0.0.1, and delivers nothing locally (`mydestination` is empty). ``stop()`` stops it and removes the
/// directory; a test calls it from a teardown block, so it runs on failure too.
package final class PostfixInstance: Sendable {
    /// The instance's `myhostname`.
    package static let hostName = "relay.example.net"

    /// The instance's directory.
    package let directory: URL
    /// The port of Postfix's own `smtpd` on 127.0.0.1, where tests connect.
    package let port: Int

    /// Where `main.cf` and `master.cf` are (`postfix -c`).
    package var configDirectory: String { directory.appendingPathComponent("etc").path }
    private var pidFile: String { directory.appendingPathComponent("queue/pid/master.pid").path }
    package var logFile: String { directory.appendingPathComponent("maillog").path }

    private init(directory: URL, port: Int) {
        self.directory = directory
        self.port = port
    }

    /// Skips the test when Postfix's commands are missing or the test does not run as root (`postfix start` needs
    /// it), with the reason; in CI (`CI=true`) fails it instead, since `.ci/run` installs every peer and runs as root
    /// (as `Tests/InteropTests` treats its peers).
    package static func requirePostfix(file: StaticString = #filePath, line: UInt = #line) throws {
        var missing = ["postfix", "postqueue", "postmap"].filter { ProcessRunner.which($0) == nil }
            .map { "\($0) (Debian package postfix) is not installed" }
        if geteuid() != 0 { missing.append("starting a Postfix instance needs root") }
        guard let reason = missing.first else { return }
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            XCTFail("\(reason): .ci/run must provide it", file: file, line: line)
        }
        throw XCTSkip(reason)
    }

    /// Writes the configuration (the shared settings plus `mainCF`, the shared services plus `masterCF`) and starts
    /// Postfix.
    ///
    /// `register` gets the instance as soon as its directory exists, so the caller schedules ``stop()`` (from a
    /// teardown block) before anything else can fail.
    /// - Parameters:
    ///   - mainCF: `main.cf` lines of the test (relaying, SASL), added to the shared ones.
    ///   - masterCF: `master.cf` lines added to the instance's own (a test's second `smtpd`).
    ///   - prepare: called once the configuration is written, before Postfix starts (maps to write and `postmap`).
    ///   - register: Called with the instance before anything can fail, to schedule its ``stop()``.
    package static func start(
        mainCF: String,
        masterCF: String = "",
        prepare: (PostfixInstance) async throws -> Void = { _ in },
        register: (PostfixInstance) -> Void
    ) async throws -> PostfixInstance {
        try requirePostfix()
        let port = try await freePort()
        var template = Array("/tmp/sasldb-postfix-XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else { throw TestSupportError("mkdtemp failed: errno \(errno)") }
        let instance = PostfixInstance(directory: URL(fileURLWithPath: String(cString: created)), port: port)
        register(instance)
        try instance.writeConfiguration(mainCF: mainCF, masterCF: masterCF)
        try await prepare(instance)
        try await instance.run("postfix", ["-c", instance.configDirectory, "start"])
        try await instance.waitUntilListening()
        return instance
    }

    private func writeConfiguration(mainCF extra: String, masterCF extraServices: String) throws {
        let root = directory.path
        // The daemons run as the postfix user and reach their directories through this one.
        guard chmod(root, 0o755) == 0 else { throw TestSupportError("chmod \(root): errno \(errno)") }
        let manager = FileManager.default
        try manager.createDirectory(atPath: configDirectory, withIntermediateDirectories: true)
        // `postfix start` creates the queue's subdirectories with their owners, but not the queue directory itself.
        try manager.createDirectory(atPath: "\(root)/queue", withIntermediateDirectories: true)
        let mainCF = """
            compatibility_level = 3.6
            queue_directory = \(root)/queue
            data_directory = \(root)/data
            maillog_file = \(logFile)
            maillog_file_prefixes = \(root)
            myhostname = \(Self.hostName)
            mydestination =
            alias_maps =
            alias_database =
            inet_interfaces = loopback-only
            inet_protocols = ipv4
            mynetworks = 127.0.0.0/8
            # A deterministic Received header: no reverse lookup of 127.0.0.1.
            smtpd_peername_lookup = no
            # No rewriting of the test's headers; the message already has Date and Message-ID.
            local_header_rewrite_clients =

            """
        // Debian's master.cf without chroot, local delivery or the optional services; smtpd only on the test's port.
        let masterCF = """
            127.0.0.1:\(port) inet n - n - - smtpd
            pickup    unix  n       -       n       60      1       pickup
            cleanup   unix  n       -       n       -       0       cleanup
            qmgr      unix  n       -       n       300     1       qmgr
            tlsmgr    unix  -       -       n       1000?   1       tlsmgr
            rewrite   unix  -       -       n       -       -       trivial-rewrite
            bounce    unix  -       -       n       -       0       bounce
            defer     unix  -       -       n       -       0       bounce
            trace     unix  -       -       n       -       0       bounce
            verify    unix  -       -       n       -       1       verify
            flush     unix  n       -       n       1000?   0       flush
            proxymap  unix  -       -       n       -       -       proxymap
            smtp      unix  -       -       n       -       -       smtp
            relay     unix  -       -       n       -       -       smtp
            showq     unix  n       -       n       -       -       showq
            error     unix  -       -       n       -       -       error
            retry     unix  -       -       n       -       -       error
            discard   unix  -       -       n       -       -       discard
            anvil     unix  -       -       n       -       1       anvil
            scache    unix  -       -       n       -       1       scache
            postlog   unix-dgram n  -       n       -       1       postlogd

            """
        try Data((mainCF + extra).utf8).write(to: URL(fileURLWithPath: "\(configDirectory)/main.cf"))
        try Data((masterCF + extraServices).utf8).write(to: URL(fileURLWithPath: "\(configDirectory)/master.cf"))
    }

    /// A port that was free a moment ago on 127.0.0.1 (Postfix needs a number; it cannot bind port 0).
    package static func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port
        try await channel.close()
        guard let port else { throw TestSupportError("no local port") }
        return port
    }

    /// Waits (bounded) until Postfix's smtpd accepts connections on ``port``.
    private func waitUntilListening() async throws {
        let clock = ContinuousClock()
        let end = clock.now + .seconds(20)
        while clock.now < end {
            // The master exits on a port taken since freePort() (then whatever answers is not Postfix).
            if log().contains("fatal:") { throw TestSupportError("Postfix did not start; log:\n\(log())") }
            let connected = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port).get()
            if let connected {
                try? await connected.close()
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestSupportError("Postfix did not listen on 127.0.0.1:\(port) within 20 s; log:\n\(log())")
    }

    /// Runs a Postfix command (`postmap`, `postqueue`), failing with its output and the log when it fails.
    @discardableResult
    package func run(_ tool: String, _ arguments: [String]) async throws -> String {
        guard let executable = ProcessRunner.which(tool) else { throw TestSupportError("\(tool) is not installed") }
        let result = await ProcessRunner.runInBackground(executable, arguments, timeout: 60)
        guard result.status == 0 else {
            throw TestSupportError(
                "\(tool) \(arguments.joined(separator: " ")) failed (status \(result.status)): "
                    + "\(result.standardOutput)\(result.standardError)\nlog:\n\(log())"
            )
        }
        return result.standardOutput
    }

    /// Postfix's log so far (`maillog_file`).
    package func log() -> String {
        (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
    }

    /// Waits (bounded) until the log contains `text`; returns whether it did.
    package func waitForLog(_ text: String, timeout: Duration = .seconds(60)) async -> Bool {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while clock.now < end {
            if log().contains(text) { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return log().contains(text)
    }

    /// `postqueue -f`: tries every queued message now, so a deferred one does not wait for the next queue run.
    package func flush() async {
        _ = try? await run("postqueue", ["-c", configDirectory, "-f"])
    }

    /// `postqueue -p`: the messages still in the queue, with the reason each is deferred.
    package func queueListing() async throws -> String {
        try await run("postqueue", ["-c", configDirectory, "-p"])
    }

    /// Stops Postfix (killing the master if it outlives a graceful stop) and removes the directory.
    package func stop() async {
        let pid = (try? String(contentsOfFile: pidFile, encoding: .utf8))
            .flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        if pid != nil, let postfix = ProcessRunner.which("postfix") {
            _ = await ProcessRunner.runInBackground(postfix, ["-c", configDirectory, "stop"], timeout: 30)
        }
        if let pid, pid > 1 {
            let clock = ContinuousClock()
            let end = clock.now + .seconds(10)
            while kill(pid, 0) == 0, clock.now < end { try? await Task.sleep(for: .milliseconds(50)) }
            if kill(pid, 0) == 0 { kill(pid, SIGKILL) }
        }
        try? FileManager.default.removeItem(at: directory)
    }
}
