import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The unprivileged account tests switch to: created when absent, and then removed when the test ends.
enum TestUser {
    static let name = "sasldbtest"

    /// The account's uid and primary gid; skips the test unless it runs as root.
    static func create(for test: XCTestCase) throws -> (uid: uid_t, gid: gid_t) {
        guard geteuid() == 0 else { throw XCTSkip("creating a test user and switching to it needs root") }
        if getpwnam(name) == nil {
            let created = runProcess("/usr/sbin/useradd", ["-M", "-s", "/usr/sbin/nologin", name])
            XCTAssertEqual(created.status, 0, created.output)
            test.addTeardownBlock { _ = runProcess("/usr/sbin/userdel", [name]) }
        }
        guard let entry = getpwnam(name) else { throw XCTSkip("cannot create the user \(name)") }
        return (entry.pointee.pw_uid, entry.pointee.pw_gid)
    }
}
