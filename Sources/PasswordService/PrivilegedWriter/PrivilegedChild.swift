import ServerKit

#if canImport(Glibc)
import Glibc
#endif

/// A helper the daemon starts as root before it drops its privileges (the password writer, the TLS reader), joined to
/// it by a `socketpair(AF_UNIX, SOCK_SEQPACKET)`: the helper's end is its descriptor ``descriptor``, the daemon's end
/// stays close-on-exec, so no other child (a sendmail sink) inherits it.
package enum PrivilegedChild {
    /// The descriptor a helper finds its end of the socket pair on.
    package static let descriptor: Int32 = 3

    /// Starts `executable` with `arguments` (`argv[0]` included), an empty environment, standard input and output on
    /// `/dev/null` and the daemon's standard error; returns its pid and the daemon's end of the socket pair.
    ///
    /// - Throws: ``ChildProcess/Failure`` when the socket pair or the child cannot be made.
    package static func start(
        executable: String,
        arguments: [String]
    ) throws(ChildProcess.Failure) -> (pid: pid_t, socket: Int32) {
        var ends: [Int32] = [-1, -1]
        let type = Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard socketpair(AF_UNIX, type, 0, &ends) == 0 else { throw .system(operation: "socketpair", code: errno) }
        // Ours above standard error (a daemon started with 2 closed must not log into the socket); the child's
        // above its own descriptor 3, so the move to 3 never lands on a descriptor still to be moved.
        let ours = fcntl(ends[0], F_DUPFD_CLOEXEC, 3)
        let theirs = fcntl(ends[1], F_DUPFD_CLOEXEC, descriptor + 1)
        let code = errno
        close(ends[0])
        close(ends[1])
        defer { if theirs >= 0 { close(theirs) } }
        guard ours >= 0, theirs >= 0 else {
            if ours >= 0 { close(ours) }
            throw .system(operation: "fcntl", code: code)
        }
        do throws(ChildProcess.Failure) {
            let pid = try ChildProcess.start(
                path: executable,
                arguments: arguments,
                environment: [],
                descriptors: [nil, nil, 2, theirs]
            )
            return (pid, ours)
        } catch {
            close(ours)
            throw error
        }
    }

    /// Waits up to `limit` for a helper whose socket the daemon has closed to exit, and reaps it; kills it (root
    /// only: once the daemon has dropped its privileges it may not signal its root child) when it does not.
    ///
    /// - Returns: whether it exited by itself.
    package static func reap(_ pid: pid_t, within limit: Duration) -> Bool {
        let deadline = ContinuousClock.now + limit
        while ChildProcess.reap(pid, blocking: false) == nil {
            guard ContinuousClock.now < deadline else {
                kill(pid, SIGKILL)
                return false
            }
            usleep(10_000)
        }
        return true
    }
}
