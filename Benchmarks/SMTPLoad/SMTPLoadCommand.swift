import ArgumentParser
import NIOCore
import NIOPosix
import NIOSSL

#if canImport(Glibc)
import Glibc
#endif

/// `smtp-load`: runs SMTP sessions against one server and prints one JSON object with the counts, the failures, the
/// latency percentiles and the client's own CPU time. Exits 1 if any session failed.
struct SMTPLoadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smtp-load",
        abstract: "SMTP submission load generator: N sessions at concurrency C, one JSON result on standard output.",
        discussion: """
            Hold workloads (idle-ehlo, idle-auth) print a first JSON line with "phase": "ready" once every session \
            is open and idle, then wait for a line (or end of file) on standard input before sending QUIT on each.
            """
    )

    @Option(help: "Server address (IPv4 or IPv6 literal).")
    var host = "127.0.0.1"

    @Option(help: "Server port.")
    var port: Int

    @Option(help: "One of: \(Workload.allCases.map(\.rawValue).joined(separator: ", ")).")
    var workload: String

    @Option(help: "Sessions to run (or to hold open).")
    var sessions = 100

    @Option(help: "Sessions in flight at once (for hold workloads: being set up at once).")
    var concurrency = 1

    @Option(help: "Seconds before unfinished sessions are aborted and counted as failed.")
    var deadline = 300

    @Option(help: "Login.")
    var user = "bench@bench.local"

    @Option(help: "Password.")
    var password = "bench-secret-1"

    @Option(help: "Envelope sender for tls-message.")
    var sender = "bench@bench.local"

    @Option(help: "Envelope recipient for tls-message.")
    var recipient = "sink@example.org"

    @Option(help: "Approximate message size in bytes for tls-message.")
    var messageSize = 10_240

    @Option(help: "TLS key-exchange groups offered: x25519 (the same for every server) or default (swift-nio-ssl's).")
    var groups = "x25519"

    @Option(help: "Event-loop threads of the client.")
    var threads = 1

    func validate() throws {
        guard Workload(rawValue: workload) != nil else {
            throw ValidationError(
                "--workload must be one of \(Workload.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        guard sessions > 0, concurrency > 0, deadline > 0, threads > 0 else {
            throw ValidationError("--sessions, --concurrency, --deadline and --threads must be positive")
        }
        guard groups == "x25519" || groups == "default" else {
            throw ValidationError("--groups must be x25519 or default")
        }
    }

    func run() throws {
        guard let workload = Workload(rawValue: workload) else { throw ExitCode.validationFailure }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv13
        tls.maximumTLSVersion = .tlsv13
        tls.certificateVerification = .none
        if groups == "x25519" { tls.curves = [.x25519] }
        let script = SessionScript(
            workload: workload,
            user: user,
            password: password,
            sender: sender,
            recipient: recipient,
            message: SessionScript.makeMessage(size: messageSize, sender: sender, recipient: recipient),
            tlsContext: workload.usesTLS ? try NIOSSLContext(configuration: tls) : nil
        )
        let address = try SocketAddress(ipAddress: host, port: port)

        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        defer { try? group.syncShutdownGracefully() }
        let cpuBefore = Self.processCPUSeconds()
        let startedAt = NIODeadline.now()
        let loops = (0..<threads).map { _ in group.next() }
        let share = { (index: Int) in sessions / threads + (index < sessions % threads ? 1 : 0) }
        var readies: [EventLoopFuture<LoadSummary>] = []
        var finishes: [EventLoopFuture<LoadSummary>] = []
        var releases: [EventLoopPromise<Void>] = []
        for (index, loop) in loops.enumerated() where share(index) > 0 {
            let ready = loop.makePromise(of: LoadSummary.self)
            let finished = loop.makePromise(of: LoadSummary.self)
            let release = loop.makePromise(of: Void.self)
            let total = share(index)
            let perLoopConcurrency = max(1, concurrency / threads + (index < concurrency % threads ? 1 : 0))
            let timeout = TimeAmount.seconds(Int64(deadline))
            loop.execute {
                LoadDriver(
                    loop: loop,
                    script: script,
                    address: address,
                    total: total,
                    concurrency: perLoopConcurrency,
                    timeout: timeout,
                    ready: ready,
                    finished: finished,
                    release: release.futureResult
                ).start()
            }
            readies.append(ready.futureResult)
            finishes.append(finished.futureResult)
            releases.append(release)
        }
        if workload.holds {
            let setUp = try readies.map { try $0.wait() }
            let setUpSeconds = Double((NIODeadline.now() - startedAt).nanoseconds) / 1e9
            let cpu = Self.processCPUSeconds() - cpuBefore
            Console.write(report(phase: "ready", merge(setUp), seconds: setUpSeconds, cpu: cpu) + "\n")
            _ = readLine()
        }
        let releasedAt = NIODeadline.now()
        let cpuAtRelease = Self.processCPUSeconds()
        for release in releases { release.succeed(()) }
        let summaries = try finishes.map { try $0.wait() }
        let total = merge(summaries)
        let end = NIODeadline.now()
        let seconds = Double((end - (workload.holds ? releasedAt : startedAt)).nanoseconds) / 1e9
        let cpu = Self.processCPUSeconds() - (workload.holds ? cpuAtRelease : cpuBefore)
        Console.write(report(phase: "done", total, seconds: seconds, cpu: cpu) + "\n")
        if total.failed > 0 || total.succeeded != sessions {
            Console.write(
                "smtp-load: \(total.failed) of \(sessions) sessions failed: \(total.reasons)\n",
                to: 2
            )
            throw ExitCode.failure
        }
    }

    private func merge(_ parts: [LoadSummary]) -> LoadSummary {
        var merged = LoadSummary()
        for part in parts {
            merged.launched += part.launched
            merged.succeeded += part.succeeded
            merged.held += part.held
            merged.failed += part.failed
            merged.reasons.merge(part.reasons, uniquingKeysWith: +)
            merged.latencies += part.latencies
            merged.expired = merged.expired || part.expired
        }
        return merged
    }

    /// One JSON object on one line.
    private func report(phase: String, _ summary: LoadSummary, seconds: Double, cpu: Double) -> String {
        let finishedSessions = phase == "ready" ? summary.held : summary.succeeded
        let reasons = summary.reasons.sorted { $0.key < $1.key }.map { "\(JSON.string($0.key)): \($0.value)" }
        let fields: [(String, String)] = [
            ("phase", JSON.string(phase)),
            ("workload", JSON.string(workload)),
            ("port", String(port)),
            ("groups", JSON.string(groups)),
            ("sessions", String(sessions)),
            ("concurrency", String(concurrency)),
            ("launched", String(summary.launched)),
            ("ok", String(summary.succeeded)),
            ("held", String(summary.held)),
            ("errors", String(summary.failed)),
            ("error_reasons", "{" + reasons.joined(separator: ", ") + "}"),
            ("expired", summary.expired ? "true" : "false"),
            ("wall_s", JSON.number(seconds)),
            ("sessions_per_s", JSON.number(seconds > 0 ? Double(finishedSessions) / seconds : 0)),
            ("p50_ms", JSON.number(summary.latencyMilliseconds(percentile: 50))),
            ("p90_ms", JSON.number(summary.latencyMilliseconds(percentile: 90))),
            ("p99_ms", JSON.number(summary.latencyMilliseconds(percentile: 99))),
            ("max_ms", JSON.number(summary.latencyMilliseconds(percentile: 100))),
            ("client_cpu_s", JSON.number(cpu)),
            (
                "client_cpu_per_session_ms",
                JSON.number(finishedSessions > 0 ? cpu * 1000 / Double(finishedSessions) : 0)
            ),
        ]
        return "{" + fields.map { "\(JSON.string($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
    }

    /// User + system CPU seconds of this process so far (every thread).
    static func processCPUSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}
