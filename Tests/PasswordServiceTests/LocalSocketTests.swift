import Foundation
import PasswordService
import ServerKitTestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The Unix-domain socket, with a real unprivileged user connecting through `setpriv`.
final class LocalSocketTests: XCTestCase {
    /// A poppassd dialogue over a Unix socket, run by whatever user runs Python: prints each reply on a line.
    private static let client = """
        import socket, sys
        path, login, current, new = sys.argv[1:5]
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(path)
        f = s.makefile("rb")
        print(f.readline().decode().rstrip())
        for line in ("user " + login, "pass " + current, "newpass " + new):
            s.sendall((line + "\\r\\n").encode())
            print(f.readline().decode().rstrip())
        """

    /// The uid and gid of the test user, who runs the client through `setpriv`.
    private func unprivilegedUser() throws -> (uid: uid_t, gid: gid_t) {
        let user = try TestUser.create(for: self)
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
            throw XCTSkip("setpriv (util-linux) is not installed")
        }
        return user
    }

    /// Runs the Python client as `identity` (root when `nil`) and returns the server's replies.
    private func dialogue(
        _ fixture: PasswordServiceFixture,
        as identity: (uid: uid_t, gid: gid_t)?,
        login: String,
        current: String,
        new: String
    ) throws -> [String] {
        let script = fixture.directory + "/client.py"
        try Data(Self.client.utf8).write(to: URL(fileURLWithPath: script))
        chmod(script, 0o644)
        let path = try XCTUnwrap(fixture.localSocketPath)
        var command = ["/usr/bin/python3", script, path, login, current, new]
        if let identity {
            command =
                ["/usr/bin/setpriv", "--reuid=\(identity.uid)", "--regid=\(identity.gid)", "--clear-groups"]
                + command
        }
        let result = runProcess(command[0], Array(command.dropFirst()))
        XCTAssertEqual(result.status, 0, result.output)
        return result.output.split(separator: "\n").map(String.init)
    }

    private func start() throws -> PasswordServiceFixture {
        let fixture = try PasswordServiceFixture(
            users: [TestUser.name: "test-user-old-pw", "alice": "alice-old-pw"],
            localSocket: true
        )
        addTeardownBlock { fixture.stop() }
        return fixture
    }

    func testALocalUserChangesTheirOwnPasswordButNotAnothers() throws {
        let identity = try unprivilegedUser()
        let fixture = try start()
        var status = stat()
        XCTAssertEqual(stat(try XCTUnwrap(fixture.localSocketPath), &status), 0)
        XCTAssertEqual(status.st_mode & 0o777, 0o666)

        let other = try dialogue(
            fixture,
            as: identity,
            login: "alice",
            current: "alice-old-pw",
            new: "stolen horse battery"
        )
        XCTAssertEqual(other.last, "500 you may change the password of your own account only")
        XCTAssertTrue(try fixture.verify("alice", "alice-old-pw"))

        let own = try dialogue(
            fixture,
            as: identity,
            login: "\(TestUser.name)@\(PasswordServiceFixture.realm)",
            current: "test-user-old-pw",
            new: "new horse battery"
        )
        XCTAssertEqual(own.last, "200 Password changed, thank-you.")
        XCTAssertTrue(try fixture.verify(TestUser.name, "new horse battery"))
        XCTAssertEqual(
            fixture.auditRecords.map(\.description),
            [
                "password change user=alice@example.org socket uid=\(identity.uid) result=refused "
                    + "reason=\"you may change the password of your own account only\"",
                "password change user=\(TestUser.name)@example.org socket uid=\(identity.uid) result=changed",
            ]
        )
    }

    /// `sasldb passwd`, run by the unprivileged user with the passwords on standard input, against the service.
    private func sasldbPasswd(
        _ fixture: PasswordServiceFixture,
        as identity: (uid: uid_t, gid: gid_t),
        login: String,
        current: String,
        new: String
    ) throws -> (status: Int32, output: String) {
        let sasldb = try builtExecutable("sasldb", override: "SASLDB_BIN")
        let socket = try XCTUnwrap(fixture.localSocketPath)
        return runProcess(
            "/usr/bin/setpriv",
            [
                "--reuid=\(identity.uid)", "--regid=\(identity.gid)", "--clear-groups",
                sasldb, "passwd", "--stdin", "--socket", socket, login,
            ],
            input: Data("\(current)\n\(new)\n\(new)\n".utf8)
        )
    }

    func testSasldbPasswdOfALocalUserChangesItsOwnPasswordThroughTheService() throws {
        let identity = try unprivilegedUser()
        let fixture = try start()
        let own = try sasldbPasswd(
            fixture,
            as: identity,
            login: "\(TestUser.name)@\(PasswordServiceFixture.realm)",
            current: "test-user-old-pw",
            new: "new horse battery"
        )
        XCTAssertEqual(own.status, 0, own.output)
        XCTAssertTrue(try fixture.verify(TestUser.name, "new horse battery"))
        XCTAssertFalse(try fixture.verify(TestUser.name, "test-user-old-pw"))

        let other = try sasldbPasswd(
            fixture,
            as: identity,
            login: "alice@\(PasswordServiceFixture.realm)",
            current: "alice-old-pw",
            new: "stolen horse battery"
        )
        XCTAssertEqual(other.status, 1, other.output)
        XCTAssertTrue(other.output.contains("you may change the password of your own account only"), other.output)
        XCTAssertTrue(try fixture.verify("alice", "alice-old-pw"))
        XCTAssertFalse(other.output.contains("alice-old-pw") || own.output.contains("new horse battery"))
    }

    func testTheOwnAccountStillNeedsItsCurrentPassword() throws {
        let identity = try unprivilegedUser()
        let fixture = try start()
        let replies = try dialogue(
            fixture,
            as: identity,
            login: TestUser.name,
            current: "wrong",
            new: "new horse battery"
        )
        XCTAssertEqual(replies.last, "500 the current password is not right")
        XCTAssertTrue(try fixture.verify(TestUser.name, "test-user-old-pw"))
    }

    func testRootChangesAnyPasswordWithItsCurrentPassword() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root") }
        let fixture = try start()
        let wrong = try dialogue(fixture, as: nil, login: "alice", current: "wrong", new: "new horse battery")
        XCTAssertEqual(wrong.last, "500 the current password is not right")
        let right = try dialogue(fixture, as: nil, login: "alice", current: "alice-old-pw", new: "new horse battery")
        XCTAssertEqual(right.last, "200 Password changed, thank-you.")
        XCTAssertTrue(try fixture.verify("alice", "new horse battery"))
    }

    func testAStaleSocketIsReplacedAndAnythingElseAtThePathRefused() throws {
        let directory = NSTemporaryDirectory() + "stale-socket-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/passwd.sock"
        // A socket file left behind: bound, never listened on, closed.
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        XCTAssertEqual(bound, 0)
        close(fd)

        let fixture = try PasswordServiceFixture(users: ["alice": "alice-old-pw"]) {
            $0.localSocketPath = path
        }
        let client = try LineClient(unixPath: path)
        XCTAssertEqual(try client.readLine(), "200 poppassd hello, who are you?")
        fixture.stop()
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "the socket is removed at shutdown")

        try Data("not a socket".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(
            try PasswordServiceFixture(users: ["alice": "alice-old-pw"]) { $0.localSocketPath = path }
        )
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "not a socket")
    }
}
