import Foundation
import SASLDB
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// A writer killed with SIGKILL at any moment (starting up, waiting for the lock, copying, applying, syncing, renaming,
/// exiting) leaves a file that we and Cyrus read, in which every user is wholly at the old or wholly at the new
/// password: a crash never produces a half-written user or a half-applied import.
///
/// Each test writes 200 users with plaintext, CRAM-MD5 and DIGEST-MD5 secrets, then runs 80 writes, each killed after a
/// random delay. Uninterrupted writes (3 first, then one every 8 runs) are timed with inotify: when the temporary copy
/// appears and when it is renamed over the file. The delays are stratified over those phases (in random order): a
/// quarter before the copy exists (startup, parsing, locking), half while it is copied, applied and synced, a quarter
/// from the rename to 10 % past the exit, so some writers finish first. Writers that finish before their kill do not
/// count: up to 40 more runs, aimed before the rename, make sure at least 50 per test die of the signal. Each test is
/// bounded to 35 s. Set SASLDB_KILL_SEED to replay a sequence.
final class KillLoopTests: XCTestCase {
    private static let killsPerTest = 80
    /// Writers that actually died of the signal, per test: 4 × 50 ≥ 200.
    private static let minimumKilled = 50
    private static let maximumExtraRuns = 40
    private static let secondsPerTest = 35.0

    func testBerkeleyDBPasswordChangeKilledAtAnyMomentLeavesUserWhollyOldOrWhollyNew() throws {
        try runKillLoop(format: .berkeleyDB, write: .changeOneUser)
    }

    func testBerkeleyDBBulkImportKilledAtAnyMomentChangesAllUsersOrNone() throws {
        try runKillLoop(format: .berkeleyDB, write: .importAllUsers)
    }

    func testGDBMPasswordChangeKilledAtAnyMomentLeavesUserWhollyOldOrWhollyNew() throws {
        try runKillLoop(format: .gdbm, write: .changeOneUser)
    }

    func testGDBMBulkImportKilledAtAnyMomentChangesAllUsersOrNone() throws {
        try runKillLoop(format: .gdbm, write: .importAllUsers)
    }

    private func runKillLoop(format: DatabaseFormat, write: KillLoop.Write) throws {
        try TestSupport.require(format == .berkeleyDB ? "sasldblistusers2" : "gdbmtool")
        let seed =
            ProcessInfo.processInfo.environment["SASLDB_KILL_SEED"].flatMap { UInt64($0) }
            ?? UInt64.random(in: 0...UInt64.max)
        let loop = try KillLoop(
            directory: TestSupport.temporaryDirectory(for: self),
            format: format,
            write: write,
            seed: seed
        )
        let started = StoreChecker.monotonicSeconds()
        let deadline = started + Self.secondsPerTest
        try loop.createDatabase()
        for _ in 0..<3 { try loop.uninterruptedWrite() }
        guard !loop.failed else { return }

        let before = Self.killsPerTest / 4
        let writing = Self.killsPerTest / 2
        var order = Array(0..<Self.killsPerTest)
        order.shuffle(using: &loop.random)
        for (run, slot) in order.enumerated() {
            guard StoreChecker.monotonicSeconds() < deadline else { break }
            if run > 0 && run % 8 == 0 { try loop.uninterruptedWrite() }
            let phases = loop.typicalPhases
            // Slot k of a band's n slots covers [k/n, (k+1)/n) of the band.
            let (from, to, index, count) =
                slot < before
                ? (0, phases.created, slot, before)
                : slot < before + writing
                    ? (phases.created, phases.renamed, slot - before, writing)
                    : (
                        phases.renamed, phases.exited * 1.1, slot - before - writing,
                        Self.killsPerTest - before - writing
                    )
            let fraction = (Double(index) + Double.random(in: 0..<1, using: &loop.random)) / Double(count)
            try loop.killedWrite(run: run, delay: from + (to - from) * fraction)
            if loop.failed { break }
        }
        // Writers that finished before their kill do not count: top up with kills aimed before the rename.
        var extra = 0
        while !loop.failed && loop.killed < Self.minimumKilled && extra < Self.maximumExtraRuns
            && StoreChecker.monotonicSeconds() < deadline
        {
            let delay = Double.random(in: 0..<1, using: &loop.random) * loop.typicalPhases.renamed
            try loop.killedWrite(run: Self.killsPerTest + extra, delay: delay)
            extra += 1
        }
        guard !loop.failed else { return }
        try loop.uninterruptedWrite()
        try loop.checkFinalState()

        let summary = loop.summary(seconds: StoreChecker.monotonicSeconds() - started)
        print("[kill-loop] \(summary)")
        XCTAssertGreaterThanOrEqual(
            loop.runs,
            Self.killsPerTest,
            "not every run finished within \(Self.secondsPerTest) s: \(summary)"
        )
        XCTAssertGreaterThanOrEqual(loop.killed, Self.minimumKilled, "too few writers were killed: \(summary)")
        XCTAssertGreaterThan(loop.endedOld, 0, "no kill landed before the rename: \(summary)")
        XCTAssertGreaterThan(loop.endedNew, 0, "no write ever completed: \(summary)")
        XCTAssertGreaterThan(loop.leftTemporaryCopy, 0, "no kill landed while the copy was written: \(summary)")
    }
}

/// One file, its users' current generations, and the bookkeeping of a kill loop.
private final class KillLoop {
    enum Write {
        /// `sasldb add` of one random user's next password.
        case changeOneUser
        /// `sasldb import` of the next password of all users.
        case importAllUsers
    }

    static let userCount = 200
    static let realm = "example.org"

    let format: DatabaseFormat
    let write: Write
    let seed: UInt64
    var random: StoreChecker.SeededGenerator
    let directory: URL
    let path: String
    private let inputPath: String
    private let outputPath: String
    private var generations = [Int](repeating: 0, count: KillLoop.userCount)
    private var originalMode: mode_t = 0
    private var killedPIDs: Set<pid_t> = []
    private var phases: [Phases] = []

    private(set) var runs = 0
    private(set) var killed = 0
    private(set) var endedOld = 0
    private(set) var endedNew = 0
    private(set) var killedAfterRename = 0
    private(set) var leftTemporaryCopy = 0
    private(set) var uninterrupted = 0
    private(set) var failed = false
    private var missedCopy = false

    init(directory: URL, format: DatabaseFormat, write: Write, seed: UInt64) throws {
        self.directory = directory
        self.format = format
        self.write = write
        self.seed = seed
        random = StoreChecker.SeededGenerator(seed: seed)
        path = directory.appendingPathComponent("sasldb2").path
        inputPath = directory.appendingPathComponent("input").path
        outputPath = directory.appendingPathComponent("output").path
    }

    /// When, in seconds after its spawn, a write created its temporary copy, renamed it and exited.
    struct Phases {
        var created: Double
        var renamed: Double
        var exited: Double
    }

    /// The medians of each phase over the recent uninterrupted writes.
    var typicalPhases: Phases {
        func median(_ values: [Double]) -> Double { values.isEmpty ? 0 : values.sorted()[values.count / 2] }
        let recent = Array(phases.suffix(5))
        return Phases(
            created: median(recent.map(\.created)),
            renamed: median(recent.map(\.renamed)),
            exited: median(recent.map(\.exited))
        )
    }

    static func password(user: Int, generation: Int) -> String { "u\(user)-gen\(generation)" }

    static func name(user: Int) -> String { "user\(user)@\(realm)" }

    static func id(user: Int) -> UserID { UserID(authid: Array("user\(user)".utf8), realm: Array(realm.utf8)) }

    /// Imports generation 0 of every user into a new file of the format.
    func createDatabase() throws {
        try writeImportInput(generation: 0)
        let arguments =
            ["import", "-f", path, "--format", StoreChecker.formatArgument(format)] + StoreChecker.secretArguments
        let result = try TestSupport.run(TestSupport.sasldb, arguments + [inputPath], timeout: 30)
        XCTAssertEqual(result.status, 0, result.stderrText)
        var status = stat()
        XCTAssertEqual(stat(path, &status), 0)
        originalMode = status.st_mode & 0o7777
        try check(context: "after creating the file", targets: [], ending: .exited(0))
    }

    /// A write that is not killed: it must succeed, end in the new state and remove every leftover temporary copy.
    /// Its phases are timed for the kills that follow.
    func uninterruptedWrite() throws {
        let (arguments, input, targets) = try prepareWrite()
        let watch = try StoreChecker.TemporaryCopyWatch(
            directory: directory,
            database: URL(fileURLWithPath: path).lastPathComponent
        )
        let started = StoreChecker.monotonicSeconds()
        let child = try StoreChecker.SpawnedProcess.start(
            TestSupport.sasldb,
            arguments,
            input: input,
            output: outputPath
        )
        var created: Double?
        var renamed: Double?
        var ending: StoreChecker.SpawnedProcess.Ending?
        while ending == nil && StoreChecker.monotonicSeconds() - started < 30 {
            ending = child.ended()
            for event in watch.events(waitingMilliseconds: ending == nil ? 1 : 0) {
                switch event {
                case .created: created = created ?? StoreChecker.monotonicSeconds() - started
                case .renamed: renamed = StoreChecker.monotonicSeconds() - started
                }
            }
        }
        let exited = StoreChecker.monotonicSeconds() - started
        uninterrupted += 1
        guard let ending else {
            child.kill()
            _ = child.wait()
            fail("uninterrupted write \(uninterrupted) did not finish in 30 s")
            return
        }
        let context = "uninterrupted write \(uninterrupted) (\(ending))"
        XCTAssertEqual(ending, .exited(0), "\(context): \(output())")
        if let created, let renamed, created <= renamed {
            phases.append(Phases(created: created, renamed: renamed, exited: max(exited, renamed)))
        } else {
            // The write did not go through a renamed copy: report it, and keep killing over its whole run.
            if !missedCopy {
                XCTFail(
                    "\(context): inotify saw no temporary copy created (\(created ?? -1) s) and renamed (\(renamed ?? -1) s)"
                )
            }
            missedCopy = true
            phases.append(Phases(created: 0, renamed: exited, exited: exited))
        }
        let outcome = try check(context: context, targets: targets, ending: ending)
        XCTAssertEqual(outcome, .new, "\(context) did not change the file")
        XCTAssertEqual(try StoreChecker.temporaryFiles(in: directory), [], "\(context) left temporary copies")
    }

    /// A write killed `delay` seconds after its spawn (unless it ends before).
    func killedWrite(run: Int, delay: Double) throws {
        let (arguments, input, targets) = try prepareWrite()
        let started = StoreChecker.monotonicSeconds()
        let child = try StoreChecker.SpawnedProcess.start(
            TestSupport.sasldb,
            arguments,
            input: input,
            output: outputPath
        )
        let remaining = delay - (StoreChecker.monotonicSeconds() - started)
        if remaining > 0 { usleep(UInt32(remaining * 1_000_000)) }
        child.kill()
        let ending = child.wait()
        let elapsed = StoreChecker.monotonicSeconds() - started
        runs += 1
        if ending == .signaled(SIGKILL) {
            killed += 1
            killedPIDs.insert(child.pid)
        }
        let typical = typicalPhases
        let context = String(
            format: "run %d (seed %llu, kill after %.1f ms, typical copy %.1f-%.1f ms exit %.1f ms, %@, %@)",
            run,
            seed,
            delay * 1000,
            typical.created * 1000,
            typical.renamed * 1000,
            typical.exited * 1000,
            "\(ending) after \(String(format: "%.1f", elapsed * 1000)) ms",
            write == .changeOneUser ? "add" : "import"
        )
        guard ending == .signaled(SIGKILL) || ending == .exited(0) else {
            fail("\(context): the writer failed on its own: \(output())")
            return
        }
        guard let outcome = try check(context: context, targets: targets, ending: ending) else { return }
        switch outcome {
        case .old: endedOld += 1
        case .new:
            endedNew += 1
            if ending == .signaled(SIGKILL) { killedAfterRename += 1 }
        }
        let leftovers = try StoreChecker.temporaryFiles(in: directory)
        if leftovers.contains(where: { StoreChecker.writerPID(ofTemporaryFile: $0) == child.pid }) {
            leftTemporaryCopy += 1
        }
        // A writer removes the copies of dead writers before making its own, so at most one copy (of the last
        // writer that got that far) can be left, and only by a killed writer.
        if leftovers.count > 1
            || leftovers.contains(where: { !killedPIDs.contains(StoreChecker.writerPID(ofTemporaryFile: $0) ?? -1) })
        {
            fail("\(context): stale temporary copies were not cleaned: \(leftovers)")
        }
    }

    /// After the final uninterrupted write: our CLI agrees with the library on the current passwords.
    func checkFinalState() throws {
        for user in [0, Self.userCount / 2, Self.userCount - 1] {
            let current = Self.password(user: user, generation: generations[user])
            let result = try TestSupport.sasldb(
                ["verify", "-f", path, "--stdin", Self.name(user: user)],
                input: current + "\n"
            )
            XCTAssertEqual(result.status, 0, "user\(user) does not verify with \(current): \(result.stderrText)")
            if generations[user] > 0 {
                let previous = Self.password(user: user, generation: generations[user] - 1)
                let stale = try TestSupport.sasldb(
                    ["verify", "-f", path, "--stdin", Self.name(user: user)],
                    input: previous + "\n"
                )
                XCTAssertEqual(stale.status, 1, "user\(user) still verifies with \(previous)")
            }
        }
        XCTAssertEqual(try StoreChecker.temporaryFiles(in: directory), [])
    }

    func summary(seconds: Double) -> String {
        let format = self.format == .gdbm ? "GDBM" : "Berkeley DB"
        let kind = write == .changeOneUser ? "add of one user" : "import of \(Self.userCount) users"
        let typical = typicalPhases
        return String(
            format: "%@ %@: %d runs (seed %llu): %d killed, %d ended old, %d ended new "
                + "(%d of them killed after the rename), %d kills left a temporary copy; "
                + "%d uninterrupted writes, typical copy created %.1f ms, renamed %.1f ms, exit %.1f ms; %.1f s",
            format,
            kind,
            runs,
            seed,
            killed,
            endedOld,
            endedNew,
            killedAfterRename,
            leftTemporaryCopy,
            uninterrupted,
            typical.created * 1000,
            typical.renamed * 1000,
            typical.exited * 1000,
            seconds
        )
    }

    // MARK: Private

    enum Outcome { case old, new }

    /// The arguments and standard input of the next write, and the users it changes.
    private func prepareWrite() throws -> (arguments: [String], input: String?, targets: Set<Int>) {
        switch write {
        case .changeOneUser:
            let user = Int.random(in: 0..<Self.userCount, using: &random)
            let password = Self.password(user: user, generation: generations[user] + 1)
            try Data((password + "\n").utf8).write(to: URL(fileURLWithPath: inputPath))
            let arguments = ["add", "-f", path] + StoreChecker.secretArguments + ["--stdin", Self.name(user: user)]
            return (arguments, inputPath, [user])
        case .importAllUsers:
            // All users are always at one generation, since an import is all or nothing.
            try writeImportInput(generation: generations[0] + 1)
            return (["import", "-f", path] + StoreChecker.secretArguments + [inputPath], nil, Set(0..<Self.userCount))
        }
    }

    private func writeImportInput(generation: Int) throws {
        let lines = (0..<Self.userCount).map {
            "\(Self.name(user: $0)):\(Self.password(user: $0, generation: generation))\n"
        }
        try Data(lines.joined().utf8).write(to: URL(fileURLWithPath: inputPath))
    }

    /// Checks the file after a write and advances the generations of the users it changed.
    ///
    /// - Returns: whether the write's users ended old or new; `nil` after a failure (already reported).
    @discardableResult
    private func check(
        context: String,
        targets: Set<Int>,
        ending: StoreChecker.SpawnedProcess.Ending
    ) throws -> Outcome? {
        let records: [Record]
        do {
            records = try FileBackend(path: path).records()
        } catch {
            fail("\(context): the file no longer opens: \(error)")
            return nil
        }
        if let problem = try StoreChecker.cyrusProblem(path: path, format: format, records: records) {
            fail("\(context): \(problem)")
            return nil
        }
        var status = stat()
        guard stat(path, &status) == 0, status.st_mode & 0o7777 == originalMode else {
            fail("\(context): the file's mode changed to \(String(status.st_mode & 0o7777, radix: 8))")
            return nil
        }
        let users = StoreChecker.valuesByUser(records)
        guard users.count == Self.userCount, records.count == Self.userCount * StoreChecker.secretProperties.count
        else {
            fail("\(context): \(users.count) users and \(records.count) records instead of \(Self.userCount) users")
            return nil
        }
        var problems: [String] = []
        var changed: Set<Int> = []
        for user in 0..<Self.userCount {
            var candidates = [Self.password(user: user, generation: generations[user])]
            if targets.contains(user) {
                candidates.append(Self.password(user: user, generation: generations[user] + 1))
            }
            switch StoreChecker.matchingCandidate(
                user: Self.id(user: user),
                values: users[Self.id(user: user)] ?? [:],
                candidates: candidates
            ) {
            case .success(let index): if index == 1 { changed.insert(user) }
            case .failure(let problem): problems.append(problem.description)
            }
        }
        guard problems.isEmpty else {
            fail("\(context): \(problems.count) users are damaged, e.g. \(problems.prefix(3))")
            return nil
        }
        guard changed.isEmpty || changed == targets else {
            fail("\(context): the write was applied to \(changed.count) of its \(targets.count) users")
            return nil
        }
        if ending == .exited(0) && changed != targets {
            fail("\(context): the writer reported success but the file was not changed")
            return nil
        }
        for user in changed { generations[user] += 1 }
        return changed.isEmpty ? .old : .new
    }

    /// Reports a failure once, keeping a copy of the file for inspection.
    private func fail(_ message: String) {
        failed = true
        let keep = "/tmp/sasldb-kill-loop-failure-\(seed)-\(getpid())"
        try? FileManager.default.removeItem(atPath: keep)
        try? FileManager.default.copyItem(atPath: directory.path, toPath: keep)
        XCTFail("\(message) [directory kept at \(keep)]")
    }

    private func output() -> String {
        (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    }
}
