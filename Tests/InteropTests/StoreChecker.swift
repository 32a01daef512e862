import Foundation
import SASLDB
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Checks shared by the kill-loop and concurrency tests: every user holds a plaintext, a CRAM-MD5 and a DIGEST-MD5
/// secret that must all come from one password, and the file must stay readable by us and by Cyrus's own tools.
enum StoreChecker {
    /// The `--secrets` option these tests write with.
    static let secretArguments = ["--secrets", "plain,cram-md5,digest-md5"]

    /// The secrets every user has, and the only properties allowed.
    static let secretProperties: [Property] = [.userPassword, .cramMD5, .digestMD5]

    /// The marker in the name of a writer's private directory (`.<name>.sasldb-tmp-<pid>-<hex>`), where it builds its
    /// temporary copy.
    static let temporaryMarker = ".sasldb-tmp-"

    /// What is wrong with a store, in words that name the user and the secret.
    struct Problem: Error, CustomStringConvertible {
        let description: String
    }

    /// The `--format` argument for `format`.
    static func formatArgument(_ format: DatabaseFormat) -> String {
        format == .gdbm ? "gdbm" : "bdb"
    }

    /// The records grouped by user.
    static func valuesByUser(_ records: [Record]) -> [UserID: [Property: [UInt8]]] {
        var users: [UserID: [Property: [UInt8]]] = [:]
        for record in records {
            users[record.key.user, default: [:]][Property(bytes: record.key.property)] = record.value
        }
        return users
    }

    /// The index of the one candidate password that each of the user's three secrets was derived from.
    ///
    /// Every secret is checked on its own: `userPassword` byte for byte, `cmusaslsecretCRAM-MD5` against the HMAC-MD5
    /// state of the candidate, `cmusaslsecretDIGEST-MD5` against MD5(authid:realm:candidate). A missing secret, one
    /// that matches no candidate, secrets of different candidates or any other property is a problem.
    static func matchingCandidate(
        user: UserID,
        values: [Property: [UInt8]],
        candidates: [String]
    ) -> Result<Int, Problem> {
        let derived = candidates.map { candidate -> [Property: [UInt8]] in
            let password = Array(candidate.utf8)
            return [
                .userPassword: password,
                .cramMD5: CRAMMD5State(password: password).bytes,
                .digestMD5: DigestMD5Secret.hash(authid: user.authid, realm: user.realm, password: password),
            ]
        }
        var matched: [Property: Int] = [:]
        var findings: [String] = []
        for property in secretProperties {
            guard let stored = values[property] else {
                findings.append("\(property) missing")
                continue
            }
            if let index = derived.firstIndex(where: { $0[property] == stored }) {
                matched[property] = index
                findings.append("\(property) of '\(candidates[index])'")
            } else if property == .userPassword {
                findings.append("\(property) '\(String(decoding: stored, as: UTF8.self))' of no candidate")
            } else {
                findings.append("\(property) of no candidate (\(stored.count) bytes)")
            }
        }
        let extra = Set(values.keys).subtracting(secretProperties).map(\.description).sorted()
        if !extra.isEmpty { findings.append("unexpected properties \(extra)") }
        let distinct = Set(matched.values)
        if matched.count == secretProperties.count, distinct.count == 1, extra.isEmpty, let index = distinct.first {
            return .success(index)
        }
        return .failure(
            Problem(description: "\(user): " + findings.joined(separator: ", ") + " (candidates \(candidates))")
        )
    }

    /// What is wrong with Cyrus's view of the file, or `nil` when Cyrus's tools read exactly `records`.
    ///
    /// Berkeley DB: Debian's `sasldblistusers2` must exit 0, print no "listusers failed" and list one line per record.
    /// GDBM (which Debian's Cyrus cannot read): `gdbmtool` must count one item per record.
    static func cyrusProblem(path: String, format: DatabaseFormat, records: [Record]) throws -> String? {
        switch format {
        case .berkeleyDB:
            let result = try TestSupport.run("sasldblistusers2", ["-f", path], timeout: 30)
            if result.status != 0 || result.stderrText.contains("listusers failed") {
                return "sasldblistusers2 exited \(result.status): \(result.stderrText)"
            }
            let lines = result.stdoutText.split(separator: "\n").map(String.init)
            let expected = records.map { record in
                "\(record.key.user): \(String(decoding: record.key.property, as: UTF8.self))"
            }
            if lines.count != records.count || Set(lines) != Set(expected) {
                let missing = Set(expected).subtracting(lines).sorted().prefix(3)
                let unknown = Set(lines).subtracting(expected).sorted().prefix(3)
                return "sasldblistusers2 listed \(lines.count) lines for \(records.count) records; "
                    + "missing \(Array(missing)), unexpected \(Array(unknown))"
            }
            return nil
        case .gdbm:
            let result = try TestSupport.run("gdbmtool", ["-N", "-q", "-r", path, "count"], timeout: 30)
            let expected = "There are \(records.count) items in the database."
            if result.status != 0 || result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) != expected {
                return "gdbmtool count exited \(result.status): \(result.stdoutText) \(result.stderrText)"
            }
            return nil
        }
    }

    /// The names of writers' private directories (and so of their temporary copies) in `directory`.
    static func temporaryFiles(in directory: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.contains(temporaryMarker) }
            .sorted()
    }

    /// The process id a private directory's name carries.
    static func writerPID(ofTemporaryFile name: String) -> pid_t? {
        guard let range = name.range(of: temporaryMarker) else { return nil }
        return pid_t(name[range.upperBound...].prefix(while: { $0 != "-" }))
    }
}

extension StoreChecker {
    /// A child process started with posix_spawn and reaped only by the test, so a SIGKILL can never hit a reused pid and
    /// the moment of the kill is measured from the spawn itself rather than from a Foundation run loop.
    struct SpawnedProcess {
        /// How a child ended.
        enum Ending: Equatable, CustomStringConvertible {
            case exited(Int32)
            case signaled(Int32)

            var description: String {
                switch self {
                case .exited(let status): return "exit \(status)"
                case .signaled(let signal): return "signal \(signal)"
                }
            }
        }

        /// The child's process id.
        let pid: pid_t

        /// Starts `executable` with `arguments`, standard input from the file `input` (else /dev/null) and standard
        /// output and error written to the file `output`.
        static func start(_ executable: String, _ arguments: [String], input: String?, output: String) throws -> Self {
            var actions = posix_spawn_file_actions_t()
            guard posix_spawn_file_actions_init(&actions) == 0 else { throw POSIXError(.ENOMEM) }
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_addopen(&actions, 0, input ?? "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
            let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
            defer {
                for argument in argv { free(argument) }
            }
            var pid: pid_t = 0
            let status = posix_spawn(&pid, executable, &actions, nil, argv, environ)
            guard status == 0 else { throw POSIXError(POSIXErrorCode(rawValue: status) ?? .EIO) }
            return SpawnedProcess(pid: pid)
        }

        /// Sends SIGKILL; harmless when the child already exited, since it stays a zombie until ``wait()``.
        func kill() {
            _ = Glibc.kill(pid, SIGKILL)
        }

        /// Waits for the child to end and reaps it.
        func wait() -> Ending {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            return Self.ending(status)
        }

        /// Reaps the child if it has ended; `nil` while it runs.
        func ended() -> Ending? {
            var status: Int32 = 0
            guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
            return Self.ending(status)
        }

        private static func ending(_ status: Int32) -> Ending {
            let signal = status & 0x7f
            return signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
        }
    }

    /// Watches a directory with inotify for writers' temporary copies being created and renamed over the database,
    /// to time the phases of a write: startup and locking, copy-apply-sync, and the rename and exit.
    ///
    /// A copy is built in a private directory of the writer, which the watched directory sees created; it sees the copy
    /// arrive by the rename as a file moved in under the database's name (nothing else moves a file there).
    final class TemporaryCopyWatch {
        /// A temporary copy was created or renamed.
        enum Event { case created, renamed }

        private let fd: Int32
        private let database: String

        init(directory: URL, database: String) throws {
            self.database = database
            fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
            guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            guard inotify_add_watch(fd, directory.path, UInt32(IN_CREATE | IN_MOVED_TO)) >= 0 else {
                close(fd)
                throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
            }
        }

        deinit { close(fd) }

        /// Waits up to `milliseconds` for events and returns those about temporary copies.
        func events(waitingMilliseconds milliseconds: Int32) -> [Event] {
            var request = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&request, 1, milliseconds) > 0 else { return [] }
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { return [] }
            var events: [Event] = []
            var offset = 0
            let header = MemoryLayout<inotify_event>.size
            while offset + header <= count {
                let (mask, length) = buffer.withUnsafeBytes { raw in
                    (
                        raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self),
                        Int(raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                    )
                }
                let name = String(
                    decoding: buffer[(offset + header)..<min(offset + header + length, count)].prefix(while: { $0 != 0 }
                    ),
                    as: UTF8.self
                )
                if name.contains(StoreChecker.temporaryMarker), mask & UInt32(IN_CREATE) != 0 {
                    events.append(.created)
                }
                if name == database, mask & UInt32(IN_MOVED_TO) != 0 { events.append(.renamed) }
                offset += header + length
            }
            return events
        }
    }

    /// SplitMix64: a seeded generator, so a failing run can be replayed with the seed printed in its message.
    struct SeededGenerator: RandomNumberGenerator {
        private var state: UInt64

        init(seed: UInt64) { state = seed }

        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Monotonic seconds, for bounding loops and measuring writes.
    static func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}
