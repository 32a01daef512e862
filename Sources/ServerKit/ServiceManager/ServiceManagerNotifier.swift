#if canImport(Glibc)
import Glibc
#endif

/// Tells systemd (or any manager speaking `sd_notify(3)`'s protocol) what state the daemon is in, so that a
/// `Type=notify` unit counts it started once it serves, knows a reload is running, and sees a graceful stop begin.
///
/// The protocol is one datagram of newline-separated `KEY=value` assignments sent to the Unix socket named by
/// `$NOTIFY_SOCKET`: a path, or an abstract-namespace name written with a leading `@`. Written here instead of linking
/// libsystemd, which would add a dependency for a few system calls. The executable reads the variable and hands the
/// path in: a library does not read the environment.
package struct ServiceManagerNotifier: Sendable {
    /// The socket's address as given: a path, or `@name` for the abstract namespace.
    package let socketPath: String

    /// A notifier for `socketPath`, `nil` when it is empty or neither a path nor an abstract name (the manager did
    /// not ask for notifications).
    package init?(socketPath: String?) {
        guard let socketPath, socketPath.hasPrefix("/") || socketPath.hasPrefix("@"), socketPath.utf8.count > 1 else {
            return nil
        }
        self.socketPath = socketPath
    }

    /// `READY=1`: start-up (or a reload) is complete and the daemon serves.
    package func ready() throws(ServiceManagerNotifierError) {
        try send("READY=1")
    }

    /// `RELOADING=1` with the `CLOCK_MONOTONIC` time it began, which systemd 253 and later require to tell this
    /// reload from an earlier one. ``ready()`` ends it.
    package func reloading() throws(ServiceManagerNotifierError) {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let microseconds = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
        try send("RELOADING=1\nMONOTONIC_USEC=\(microseconds)")
    }

    /// `STOPPING=1`: a graceful stop has begun.
    package func stopping() throws(ServiceManagerNotifierError) {
        try send("STOPPING=1")
    }

    /// Sends `state` as one datagram.
    ///
    /// - Throws: ``ServiceManagerNotifierError`` naming the call that failed.
    package func send(_ state: String) throws(ServiceManagerNotifierError) {
        let address: UnixSocketAddress
        do throws(LocalSocketError) {
            address = try UnixSocketAddress(socketPath)
        } catch {
            throw ServiceManagerNotifierError(description: "NOTIFY_SOCKET: \(error)")
        }
        let socket = Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socket >= 0 else { throw ServiceManagerNotifierError(operation: "socket", code: errno) }
        defer { close(socket) }
        let bytes = Array(state.utf8)
        let sent = address.withSocketAddress { target, length in
            bytes.withUnsafeBytes { sendto(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), target, length) }
        }
        guard sent == bytes.count else {
            throw ServiceManagerNotifierError(operation: "sendto \(socketPath)", code: sent < 0 ? errno : EMSGSIZE)
        }
    }
}
