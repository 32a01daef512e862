import PasswordChange
import SASLDB
import XCTest

final class PasswordPolicyTests: XCTestCase {
    private let alice = UserID(authid: Array("alice".utf8), realm: Array("example.org".utf8))

    private func violation(
        _ new: String,
        current: String? = "old-secret-1",
        policy: PasswordPolicy = PasswordPolicy()
    )
        -> PolicyViolation?
    {
        policy.violation(new: Array(new.utf8), current: current.map { Array($0.utf8) }, user: alice)
    }

    func testAcceptsAGoodPassphrase() {
        XCTAssertNil(violation("correct horse battery staple"))
        XCTAssertNil(violation("pässwörd-Ключ"))
    }

    func testLengthCountsCharactersNotBytes() {
        XCTAssertEqual(violation("1234567"), .tooShort(minimum: 8))
        // Eight characters, sixteen bytes: long enough.
        XCTAssertNil(violation("ääääöööü"))
        let short = PasswordPolicy(minimumLength: 4, maximumLength: 10)
        XCTAssertEqual(violation("abcdefghijk", policy: short), .tooLong(maximum: 10))
        XCTAssertNil(violation("abcdefghij", policy: short))
    }

    func testRefusesInvalidUTF8AndControlCharacters() {
        XCTAssertEqual(
            PasswordPolicy().violation(
                new: [0x61, 0x62, 0xff, 0x63, 0x64, 0x65, 0x66, 0x67],
                current: nil,
                user: alice
            ),
            .notUTF8
        )
        XCTAssertEqual(violation("tab\there-long"), .controlCharacter)
        XCTAssertEqual(violation("nul\u{0}here-long"), .controlCharacter)
        XCTAssertEqual(violation("escape\u{1b}[0m-x"), .controlCharacter)
    }

    func testRefusesTheCurrentPasswordAndTheLogin() {
        XCTAssertEqual(violation("old-secret-1"), .sameAsCurrent)
        XCTAssertEqual(violation("Alice@Example.org", current: nil), .sameAsLogin)
        let short = PasswordPolicy(minimumLength: 3)
        XCTAssertEqual(violation("ALICE", policy: short), .sameAsLogin)
    }

    func testRefusesCommonPasswordsWhateverTheirCase() {
        XCTAssertEqual(violation("password123"), .common)
        XCTAssertEqual(violation("PassWord123"), .common)
        XCTAssertEqual(violation("qwertyuiop"), .common)
        XCTAssertGreaterThan(CommonPasswords.builtin.count, 200)
        XCTAssertTrue(CommonPasswords.builtin.contains("ROUNDCUBE"))
    }

    func testAListFileAddsToTheBuiltinList() throws {
        let directory = try temporaryDirectory()
        let path = directory + "/list.txt"
        try write("# site list\r\nhunter2hunter2\r\n\r\nzebra-giraffe\n", to: path)
        let list = try CommonPasswords.load(path: path)
        XCTAssertTrue(list.contains("Zebra-Giraffe"))
        XCTAssertTrue(list.contains("hunter2hunter2"))
        XCTAssertTrue(list.contains("password123"))
        XCTAssertFalse(list.contains("# site list"))
        XCTAssertThrowsError(try CommonPasswords.load(path: directory + "/missing.txt")) { error in
            guard case PasswordChangeError.invalidConfiguration(let message) = error else {
                return XCTFail("\(error)")
            }
            XCTAssertTrue(message.contains("missing.txt"), message)
        }
    }

    func testValidatesItsSettings() {
        XCTAssertThrowsError(try PasswordPolicy(minimumLength: 0).validate())
        XCTAssertThrowsError(try PasswordPolicy(minimumLength: 10, maximumLength: 9).validate())
        XCTAssertThrowsError(try PasswordPolicy(maximumLength: 4096).validate())
        XCTAssertNoThrow(try PasswordPolicy().validate())
    }

    func testEveryRuleSaysWhichRuleFailed() {
        let all: [PolicyViolation] = [
            .tooShort(minimum: 8), .tooLong(maximum: 9), .notUTF8, .controlCharacter, .sameAsCurrent, .sameAsLogin,
            .common,
        ]
        XCTAssertEqual(Set(all.map(\.description)).count, all.count)
        XCTAssertEqual(Set(all.map(\.rule)).count, all.count)
    }
}

final class PasswordPolicySettingsTests: XCTestCase {
    func testReadsEverySettingAndKeepsDefaultsForTheRest() throws {
        let defaults = try PasswordPolicy(setting: { _ in nil })
        XCTAssertEqual(defaults.minimumLength, PasswordPolicy.defaultMinimumLength)
        XCTAssertEqual(defaults.maximumLength, PasswordPolicy.defaultMaximumLength)
        let directory = try temporaryDirectory()
        try write("zebra-giraffe\n", to: directory + "/list")
        let settings = [
            "password_min_length": "12", "password_max_length": "64", "password_common_list": directory + "/list",
        ]
        let policy = try PasswordPolicy(setting: { settings[$0] })
        XCTAssertEqual(policy.minimumLength, 12)
        XCTAssertEqual(policy.maximumLength, 64)
        XCTAssertTrue(policy.commonPasswords.contains("zebra-giraffe"))
    }

    func testNamesTheSettingAtFault() {
        for (name, value, expected) in [
            ("password_min_length", "eight", "password_min_length must be a whole number, not 'eight'"),
            ("password_min_length", "0", "password_min_length must be at least 1"),
            ("password_max_length", "99999", "password_max_length must be between password_min_length and 2048"),
        ] {
            XCTAssertThrowsError(try PasswordPolicy(setting: { $0 == name ? value : nil })) { error in
                XCTAssertEqual("\(error)", expected)
            }
        }
    }
}
