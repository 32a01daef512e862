import Foundation
import PasswordService
import Synchronization
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The socket's mode is set when it is created, not by a `chmod` of its path afterwards: whoever owns the socket's
/// directory (the daemon's account, when root binds) cannot swap the new socket for a link in between and have the
/// server chmod the link's target.
final class LocalSocketModeTests: XCTestCase {
    /// Replaces `passwd.sock` with a link to a victim as soon as inotify reports it created, from its own thread.
    private final class LinkPlanter: Sendable {
        private let stopped = Mutex(false)
        private let swaps = Mutex(0)
        private let fd: Int32

        init(directory: String, victim: String) throws {
            fd = inotify_init1(Int32(IN_CLOEXEC))
            guard fd >= 0, inotify_add_watch(fd, directory, UInt32(IN_CREATE)) >= 0 else {
                throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
            }
            let socket = directory + "/passwd.sock"
            Thread.detachNewThread { [self] in
                var buffer = [UInt8](repeating: 0, count: 4096)
                while !stopped.withLock({ $0 }) {
                    var request = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                    guard poll(&request, 1, 20) > 0 else { continue }
                    guard buffer.withUnsafeMutableBytes({ read(fd, $0.baseAddress, $0.count) }) > 0 else { continue }
                    // Only the socket and the link are ever created here: act at once on a socket, without parsing.
                    var status = stat()
                    guard lstat(socket, &status) == 0, status.st_mode & S_IFMT == S_IFSOCK else { continue }
                    if unlink(socket) == 0, symlink(victim, socket) == 0 { swaps.withLock { $0 += 1 } }
                }
                close(fd)
            }
        }

        var swapCount: Int { swaps.withLock { $0 } }

        func stop() { stopped.withLock { $0 = true } }
    }

    /// A race bounded to 20 server starts: on the code that chmodded the path after the bind, the link planted
    /// right after the socket appeared could be followed, leaving the victim 0666; the socket made 0666 by the umask
    /// at bind time leaves nothing to follow. Some socket must have been swapped, or the race was not run.
    func testSocketSwappedForALinkRightAfterItsBindNeverLeavesTheLinksTargetOpenToEveryone() throws {
        var template = Array("/tmp/poppassd-socket-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw POSIXError(.EIO) }
        let directory = String(cString: made)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socketDirectory = directory + "/run"
        XCTAssertEqual(mkdir(socketDirectory, 0o755), 0)
        let victim = directory + "/victim"
        XCTAssertTrue(FileManager.default.createFile(atPath: victim, contents: Data("secret".utf8)))
        XCTAssertEqual(chmod(victim, 0o600), 0)
        let planter = try LinkPlanter(directory: socketDirectory, victim: victim)
        defer { planter.stop() }

        for start in 1...20 {
            let fixture = try PasswordServiceFixture(users: ["alice": "alice-old-pw"]) {
                $0.localSocketPath = socketDirectory + "/passwd.sock"
            }
            fixture.stop()
            var status = stat()
            XCTAssertEqual(stat(victim, &status), 0)
            XCTAssertEqual(status.st_mode & 0o777, 0o600, "start \(start): the server made the link's target 0666")
            unlink(socketDirectory + "/passwd.sock")
            if status.st_mode & 0o777 != 0o600 { break }
        }
        XCTAssertGreaterThan(planter.swapCount, 0, "no socket was swapped: the race did not run")
    }
}
