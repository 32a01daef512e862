import PasswordChange
import XCTest

/// The audit line goes to syslog as it is: whatever the login held, it stays one line with the fields it claims.
final class PasswordChangeAuditTests: XCTestCase {
    func testALoginWithControlCharactersCannotForgeFields() {
        let audit = PasswordChangeAudit(
            user: "mallory@example.org result=changed\nNov 1 sasldb: password change user=root",
            origin: "poppassd client=192.0.2.7",
            outcome: .refused(.authenticationFailed)
        )
        XCTAssertEqual(
            audit.description,
            #"password change user="mallory@example.org result=changed\nNov 1 sasldb: password change user=root" "#
                + "poppassd client=192.0.2.7 result=refused reason=authentication-failed"
        )
        XCTAssertFalse(audit.description.contains("\n"), "one line")
    }

    func testAPlainLoginIsWrittenAsIs() {
        let audit = PasswordChangeAudit(user: "alice@example.org", origin: "socket uid=1000", outcome: .changed)
        XCTAssertEqual(audit.description, "password change user=alice@example.org socket uid=1000 result=changed")
    }
}
