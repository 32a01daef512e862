import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// The process on the other end of a Unix-domain socket, as the kernel recorded it at `connect` (`SO_PEERCRED`):
/// it cannot be forged by the peer.
package struct PeerCredentials: Sendable {
    /// Linux's `struct ucred`, which Swift's Glibc module hides (it needs `_GNU_SOURCE`).
    private struct UCred: Sendable {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
    }

    /// The peer's effective uid at `connect`.
    package var uid: UInt32

    /// Reads the credentials of `channel`'s peer, on its event loop; fails with ``LocalSocketError`` when the channel
    /// is not a socket.
    package static func of(_ channel: any Channel) -> EventLoopFuture<PeerCredentials> {
        guard let provider = channel as? any SocketOptionProvider else {
            return channel.eventLoop.makeFailedFuture(LocalSocketError("no peer credentials"))
        }
        let credentials: EventLoopFuture<UCred> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET),
            name: SocketOptionName(SO_PEERCRED)
        )
        return credentials.map { PeerCredentials(uid: $0.uid) }
    }
}
