#if canImport(Glibc)
import Glibc
#endif

/// Runs a program with `posix_spawn` (no shell), feeds it bytes on standard input and collects what it writes, within
/// a time limit. Blocking: call it through ``BlockingWork`` (or from a daemon's startup, before serving).
///
/// The child gets only the descriptors 0, 1 and 2 (the pipes; standard error joins standard output): everything else
/// the daemon holds (listening sockets, the database, the TLS key) is closed by `posix_spawn` before `exec`. Its
/// signal mask is empty and `SIGPIPE` is back to its default, whatever the daemon did with them. It leads a process
/// group of its own, and the timeout kills the whole group: Postfix's `sendmail` waits for a `postdrop` child, which
/// would otherwise live on under PID 1.
package enum ChildProcess {
    /// How the child ended.
    package enum Termination: Sendable, Equatable {
        /// It called `exit` with this status.
        case exited(Int32)
        /// A signal ended it.
        case signaled(Int32)
    }

    /// What a run produced.
    package struct Outcome: Sendable {
        /// How the child ended.
        package var termination: Termination
        /// Its standard output and error, the first ``capturedOutputLimit`` bytes.
        package var output: [UInt8]
        /// Whether it read all of its input (`false` when it closed standard input early).
        package var consumedInput: Bool
    }

    /// Why a run failed.
    package enum Failure: Error, Equatable, CustomStringConvertible {
        /// `posix_spawn` failed with this `errno` (no such program, not executable).
        case spawn(path: String, code: Int32)
        /// A pipe could not be made or used.
        case system(operation: String, code: Int32)
        /// The child did not finish in time; it was killed with its process group. `output` is what it had written.
        case timedOut(output: [UInt8])

        package var description: String {
            switch self {
            case .spawn(let path, let code): return SystemError.describe("spawn", path, code)
            case .system(let operation, let code): return "\(operation): \(String(cString: strerror(code)))"
            case .timedOut: return "timed out; killed with its process group"
            }
        }
    }

    /// The most output kept for the log.
    package static let capturedOutputLimit = 8192

    /// Runs `path` with `arguments` (not including `argv[0]`, which is the path) and `environment` (`KEY=value`).
    package static func run(
        path: String,
        arguments: [String],
        environment: [String],
        input: [UInt8],
        timeout: Duration
    ) throws(Failure) -> Outcome {
        let deadline = ContinuousClock.now + timeout
        let stdin = try makePipe()
        let output: (read: Int32, write: Int32)
        do throws(Failure) {
            output = try makePipe()
        } catch {
            close(stdin.read)
            close(stdin.write)
            throw error
        }

        let pid: pid_t
        do throws(Failure) {
            pid = try start(
                path: path,
                arguments: [path] + arguments,
                environment: environment,
                descriptors: [stdin.read, output.write, output.write],
                newProcessGroup: true
            )
        } catch {
            for fd in [stdin.read, stdin.write, output.read, output.write] { close(fd) }
            throw error
        }
        close(stdin.read)
        close(output.write)
        return try exchange(
            pid: pid,
            input: input,
            inputFD: stdin.write,
            outputFD: output.read,
            deadline: deadline
        )
    }

    // MARK: - Spawning

    /// A pipe whose ends are close-on-exec and above 2, so a daemon started with 0, 1 or 2 closed is no problem.
    private static func makePipe() throws(Failure) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        let result = fds.withUnsafeMutableBufferPointer { buffer -> Int32 in
            guard let base = buffer.baseAddress else { return -1 }
            if let pipe2 = pipe2Function { return pipe2(base, O_CLOEXEC) }
            return pipe(base)
        }
        guard result == 0 else { throw .system(operation: "pipe", code: errno) }
        for index in fds.indices {
            // F_DUPFD_CLOEXEC both moves a low descriptor above 2 and sets close-on-exec where pipe2 was missing.
            let moved = fcntl(fds[index], F_DUPFD_CLOEXEC, 3)
            let code = errno
            close(fds[index])
            guard moved >= 0 else {
                if index == 1 { close(fds[0]) }
                throw .system(operation: "fcntl", code: code)
            }
            fds[index] = moved
        }
        return (fds[0], fds[1])
    }

    /// Starts `path` with the whole `arguments` vector (`argv[0]` included) and `environment`, without waiting for
    /// it; the caller reaps it (``reap(_:blocking:)``).
    ///
    /// The child's descriptor `i` is `descriptors[i]` (`nil`: `/dev/null`), and it gets no other: the rest are closed
    /// before `exec`. The moves run in order, so a descriptor given must not be a lower target, overwritten before it
    /// is moved (one above the last target always qualifies). Its signal mask is empty and the usual signals are back
    /// to their defaults. With `newProcessGroup` it leads a process group of its own, whose id is its pid.
    package static func start(
        path: String,
        arguments: [String],
        environment: [String],
        descriptors: [Int32?],
        newProcessGroup: Bool = false
    ) throws(Failure) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (target, source) in descriptors.enumerated() {
            if let source {
                posix_spawn_file_actions_adddup2(&actions, source, Int32(target))
            } else {
                posix_spawn_file_actions_addopen(&actions, Int32(target), "/dev/null", O_RDWR, 0)
            }
        }
        if let closeFrom = closeFromFunction {
            _ = closeFrom(&actions, Int32(descriptors.count))
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGHUP, SIGINT, SIGTERM, SIGQUIT, SIGCHLD, SIGALRM, SIGUSR1, SIGUSR2] {
            sigaddset(&defaults, signal)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
        if newProcessGroup {
            posix_spawnattr_setpgroup(&attributes, 0)
            flags |= POSIX_SPAWN_SETPGROUP
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid = pid_t()
        let status = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        guard status == 0 else { throw .spawn(path: path, code: status) }
        return pid
    }

    // MARK: - Talking to the child

    /// Writes `input` and reads the output at the same time (a child that writes a lot before reading must not
    /// deadlock us), then reaps the child; kills it at the deadline.
    private static func exchange(
        pid: pid_t,
        input: [UInt8],
        inputFD: Int32,
        outputFD: Int32,
        deadline: ContinuousClock.Instant
    ) throws(Failure) -> Outcome {
        var inputFD: Int32? = inputFD
        var outputFD: Int32? = outputFD
        defer {
            if let inputFD { close(inputFD) }
            if let outputFD { close(outputFD) }
        }
        for fd in [inputFD, outputFD].compactMap({ $0 }) {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        var written = 0
        var consumedInput = true
        var output: [UInt8] = []
        var termination: Termination?
        var buffer = [UInt8](repeating: 0, count: 4096)

        if input.isEmpty, let fd = inputFD {
            close(fd)
            inputFD = nil
        }
        while inputFD != nil || (outputFD != nil && termination == nil) {
            let left = milliseconds(until: deadline)
            guard left > 0 else { return try killAfterTimeout(pid, output: output) }
            var polled: [pollfd] = []
            if let fd = inputFD { polled.append(pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)) }
            if let fd = outputFD { polled.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0)) }
            // Wake up now and then to notice a child that exited while a grandchild keeps its output open.
            let ready = poll(&polled, nfds_t(polled.count), min(left, 50))
            if ready < 0 && errno != EINTR { throw .system(operation: "poll", code: errno) }

            if let fd = inputFD, polled.contains(where: { $0.fd == fd && $0.revents != 0 }) {
                let result = input.withUnsafeBytes { raw in
                    write(fd, raw.baseAddress.map { $0 + written }, min(input.count - written, 65536))
                }
                if result > 0 {
                    written += result
                } else if result < 0 && errno != EAGAIN && errno != EINTR {
                    // EPIPE: the child closed its standard input before reading everything.
                    consumedInput = false
                }
                if written == input.count || !consumedInput {
                    close(fd)
                    inputFD = nil
                }
            }
            if let fd = outputFD, polled.contains(where: { $0.fd == fd && $0.revents != 0 }) {
                let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    output += buffer.prefix(min(count, max(0, capturedOutputLimit - output.count)))
                } else if count == 0 || (errno != EAGAIN && errno != EINTR) {
                    close(fd)
                    outputFD = nil
                }
            }
            if termination == nil { termination = reap(pid, blocking: false) }
        }
        while termination == nil {
            guard milliseconds(until: deadline) > 0 else { return try killAfterTimeout(pid, output: output) }
            usleep(2000)
            termination = reap(pid, blocking: false)
        }
        guard let termination else { throw .timedOut(output: output) }
        return Outcome(termination: termination, output: output, consumedInput: consumedInput)
    }

    /// Kills the child's whole process group (it leads it), so nothing it started outlives it, and reaps the child.
    private static func killAfterTimeout(_ pid: pid_t, output: [UInt8]) throws(Failure) -> Outcome {
        kill(-pid, SIGKILL)
        _ = reap(pid, blocking: true)
        throw .timedOut(output: output)
    }

    /// The child's termination once it has ended (reaping it), `nil` while it runs.
    package static func reap(_ pid: pid_t, blocking: Bool) -> Termination? {
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, blocking ? 0 : WNOHANG)
            if result == pid { break }
            if result < 0 && errno == EINTR { continue }
            if result < 0 { return .signaled(0) }
            return nil
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import.
        let signal = status & 0x7F
        return signal == 0 ? .exited((status >> 8) & 0xFF) : .signaled(signal)
    }

    private static func milliseconds(until deadline: ContinuousClock.Instant) -> Int32 {
        let left = deadline - ContinuousClock.now
        guard left > .zero else { return 0 }
        let (seconds, attoseconds) = left.components
        return Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
    }

    // MARK: - GNU functions

    // Swift's Glibc module is built without _GNU_SOURCE, which hides these two; both are in glibc since 2.34 (Debian
    // 12 has 2.36). Without them: pipe + F_DUPFD_CLOEXEC, and close-on-exec alone keeps descriptors from the child.
    private typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32
    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    private static let pipe2Function: Pipe2? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "pipe2") else { return nil }
        return unsafeBitCast(symbol, to: Pipe2.self)
    }()

    private static let closeFromFunction: CloseFrom? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
        else { return nil }
        return unsafeBitCast(symbol, to: CloseFrom.self)
    }()
}
