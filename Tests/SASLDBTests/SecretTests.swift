import SASLDB
import XCTest

/// The secret derivations against every vector of sasldb-format.md §6, which a real Cyrus 2.1.28 server accepted.
final class SecretTests: XCTestCase {

    // MARK: - Spec §6 users

    private struct SpecUser {
        var authid: String
        var realm: String
        var passwordHex: String
        var keyPrefixHex: String
        var cramMD5: String
        var digestMD5: String

        var user: UserID { UserID(authid: Array(authid.utf8), realm: Array(realm.utf8)) }
        var password: [UInt8] { Hex.decode(passwordHex) ?? [] }
    }

    private let alice = SpecUser(
        authid: "alice",
        realm: "Example.COM",
        passwordHex: "736563726574",
        keyPrefixHex: "616c696365004578616d706c652e434f4d00",
        cramMD5: "f1f7e0a98a0cc0fbc3aabb81561b7395dea73bcdcae5d6aaa48b44234797372e",
        digestMD5: "1758a6619132053c6e99671a76770350"
    )
    private let bob = SpecUser(
        authid: "bob",
        realm: "mail.example.org",
        passwordHex: "70c3a4737377c3b67264",
        keyPrefixHex: "626f62006d61696c2e6578616d706c652e6f726700",
        cramMD5: "c34b23cb2aab8a02cb25a271b9fbed0d37bd604ad4c54f92ce924c5b86ac5b69",
        digestMD5: "fbb3c5455c352e56e76b918107a872af"
    )
    private let carol = SpecUser(
        authid: "carol",
        realm: "EXAMPLE.ORG",
        passwordHex: "e282ac75726f2dd09ad0bbd18ed187",
        keyPrefixHex: "6361726f6c004558414d504c452e4f524700",
        cramMD5: "70d92ac06007cd57d2b84720e1423f9f610a7e1206dba2e99dc9f98d6a202e2b",
        digestMD5: "27120e855bc93410202839d158a9c715"
    )
    private let dave = SpecUser(
        authid: "dave",
        realm: "vm",
        passwordHex: String(repeating: "78", count: 70),
        keyPrefixHex: "6461766500766d00",
        cramMD5: "3d16e7ebaf0174ffd416aab51f9fcfed3abb0381a9964b2a4ece9cca228dccfe",
        digestMD5: "8b3600879339dda200e213bef52e7636"
    )
    private var users: [SpecUser] { [alice, bob, carol, dave] }

    private let specSaltBase64 = "AAECAwQFBgcICQoLDA0ODw=="

    func testSpecPasswordsAreTheDocumentedStrings() {
        XCTAssertEqual(alice.password, Array("secret".utf8))
        XCTAssertEqual(bob.password, Array("pässwörd".utf8))
        XCTAssertEqual(carol.password, Array("€uro-Ключ".utf8))
        XCTAssertEqual(dave.password, Array(String(repeating: "x", count: 70).utf8))
    }

    func testPropertyNamesAndKeysMatchSpecBytes() {
        XCTAssertEqual(Hex.encode(Property.userPassword.bytes), "7573657250617373776f7264")
        XCTAssertEqual(Hex.encode(Property.cramMD5.bytes), "636d757361736c7365637265744352414d2d4d4435")
        XCTAssertEqual(Hex.encode(Property.digestMD5.bytes), "636d757361736c7365637265744449474553542d4d4435")
        XCTAssertEqual(Hex.encode(Property.authPassword.bytes), "6175746850617373776f7264")
        XCTAssertEqual(Hex.encode(Property.plainSecret.bytes), "636d757361736c736563726574504c41494e")
        for user in users {
            let key = RecordKey(user: user.user, property: .userPassword)
            XCTAssertEqual(Hex.encode(key.bytes), user.keyPrefixHex + "7573657250617373776f7264", user.authid)
        }
        XCTAssertEqual(
            Hex.encode(RecordKey(user: alice.user, property: .userPassword).bytes),
            "616c696365004578616d706c652e434f4d007573657250617373776f7264"
        )
    }

    // MARK: - CRAM-MD5

    func testCRAMMD5StateMatchesCyrusForAlice() { assertCRAMMD5State(alice) }
    func testCRAMMD5StateMatchesCyrusForBob() { assertCRAMMD5State(bob) }
    func testCRAMMD5StateMatchesCyrusForCarol() { assertCRAMMD5State(carol) }
    /// dave's 70-byte password exercises the rule that keys longer than 64 bytes are hashed first.
    func testCRAMMD5StateMatchesCyrusForDaveWithOverlongKey() { assertCRAMMD5State(dave) }

    private func assertCRAMMD5State(_ user: SpecUser, file: StaticString = #filePath, line: UInt = #line) {
        let state = CRAMMD5State(password: user.password)
        XCTAssertEqual(Hex.encode(state.bytes), user.cramMD5, user.authid, file: file, line: line)
        XCTAssertTrue(state.matches(password: user.password), file: file, line: line)
        XCTAssertFalse(state.matches(password: user.password + Array("X".utf8)), file: file, line: line)
    }

    func testCRAMMD5StateMatchesRFC2195Check() {
        let state = CRAMMD5State(password: "tanstaaftanstaaf".utf8)
        XCTAssertEqual(Hex.encode(state.bytes), "5211b25404b61f715e033eca6b1115701b4e6dd0a4cafc260118b6b0a3402313")
    }

    func testCRAMMD5ContinuationGivesRFC2195Digest() throws {
        let stored = try XCTUnwrap(Hex.decode("5211b25404b61f715e033eca6b1115701b4e6dd0a4cafc260118b6b0a3402313"))
        let state = try XCTUnwrap(CRAMMD5State(bytes: stored))
        let challenge = "<1896.697170952@postoffice.reston.mci.net>".utf8
        XCTAssertEqual(Hex.encode(state.hmac(challenge: challenge)), "b913a602c7eda7a495b4e6e7334d3890")
    }

    /// The continuation must equal a real HMAC-MD5 for every spec user and for challenge lengths around MD5's
    /// padding boundaries (55/56 and 64 bytes), where a wrong byte count in the resumed context would show.
    func testCRAMMD5ContinuationEqualsHMACMD5AcrossPaddingBoundaries() throws {
        for user in users {
            let state = try XCTUnwrap(CRAMMD5State(bytes: Hex.decode(user.cramMD5) ?? []))
            for length in [0, 1, 42, 55, 56, 57, 63, 64, 65, 119, 120, 200] {
                let challenge = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
                XCTAssertEqual(
                    state.hmac(challenge: challenge),
                    hmac(.md5, key: user.password, challenge),
                    "\(user.authid), challenge of \(length) bytes"
                )
            }
        }
    }

    func testCRAMMD5StateRejectsStoredValuesOfWrongLength() {
        XCTAssertNil(CRAMMD5State(bytes: [UInt8](repeating: 0, count: 31)))
        XCTAssertNil(CRAMMD5State(bytes: [UInt8](repeating: 0, count: 33)))
        XCTAssertNil(CRAMMD5State(bytes: [UInt8]()))
        XCTAssertNotNil(CRAMMD5State(bytes: [UInt8](repeating: 0, count: 32)))
    }

    func testCRAMMD5StateOfExactly64BytePasswordIsNotHashedFirst() {
        let password = [UInt8](repeating: 0x61, count: 64)
        let state = CRAMMD5State(password: password)
        XCTAssertEqual(state.hmac(challenge: "c".utf8), hmac(.md5, key: password, "c".utf8))
        XCTAssertFalse(state.matches(password: digest(.md5, password)))
    }

    // MARK: - DIGEST-MD5

    func testDigestMD5SecretMatchesCyrusForAlice() { assertDigestMD5Secret(alice) }
    /// bob's password is Latin-1 representable, so it is converted before hashing.
    func testDigestMD5SecretMatchesCyrusForBobWithLatin1Conversion() { assertDigestMD5Secret(bob) }
    /// carol's password contains € and Cyrillic, so it is hashed as raw UTF-8.
    func testDigestMD5SecretMatchesCyrusForCarolWithRawUTF8() { assertDigestMD5Secret(carol) }
    func testDigestMD5SecretMatchesCyrusForDave() { assertDigestMD5Secret(dave) }

    private func assertDigestMD5Secret(_ user: SpecUser, file: StaticString = #filePath, line: UInt = #line) {
        let secret = DigestMD5Secret(user: user.user, password: user.password)
        XCTAssertEqual(Hex.encode(secret.bytes), user.digestMD5, user.authid, file: file, line: line)
        XCTAssertEqual(
            Hex.encode(DigestMD5Secret.hash(authid: user.authid.utf8, realm: user.realm.utf8, password: user.password)),
            user.digestMD5,
            file: file,
            line: line
        )
        XCTAssertTrue(secret.matches(user: user.user, password: user.password), file: file, line: line)
        XCTAssertFalse(secret.matches(user: user.user, password: user.password + [0x58]), file: file, line: line)
    }

    func testDigestMD5HashInputForBobIsLatin1() throws {
        let input =
            Latin1.convertIfRepresentable(bob.authid.utf8) + [0x3a] + Latin1.convertIfRepresentable(bob.realm.utf8)
            + [0x3a] + Latin1.convertIfRepresentable(bob.password)
        XCTAssertEqual(Hex.encode(input), "626f623a6d61696c2e6578616d706c652e6f72673a70e4737377f67264")
        XCTAssertEqual(Hex.encode(digest(.md5, input)), bob.digestMD5)
    }

    /// The raw-UTF-8 hash of bob's password is the one the real client rejected; the server only tries it as a
    /// fallback with a plaintext password.
    func testDigestMD5UnconvertedBobHashIsTheRejectedOne() {
        let unconverted = DigestMD5Secret(user: bob.user, password: bob.password, convertingToLatin1: false)
        XCTAssertEqual(Hex.encode(unconverted.bytes), "14ab8e812c5f1e97084f4793f4fc8a30")
        XCTAssertNotEqual(Hex.encode(unconverted.bytes), bob.digestMD5)
        let stored = DigestMD5Secret(bytes: unconverted.bytes)
        XCTAssertEqual(stored?.matches(user: bob.user, password: bob.password), false)
    }

    func testDigestMD5ConversionIsANoOpForCarolAndASCIIUsers() {
        for user in [alice, carol, dave] {
            XCTAssertEqual(
                DigestMD5Secret(user: user.user, password: user.password, convertingToLatin1: false).bytes,
                DigestMD5Secret(user: user.user, password: user.password).bytes,
                user.authid
            )
        }
    }

    func testDigestMD5SecretRejectsStoredValuesOfWrongLength() {
        XCTAssertNil(DigestMD5Secret(bytes: [UInt8](repeating: 0, count: 15)))
        XCTAssertNil(DigestMD5Secret(bytes: [UInt8](repeating: 0, count: 17)))
        XCTAssertNotNil(DigestMD5Secret(bytes: [UInt8](repeating: 0, count: 16)))
    }

    // MARK: - Latin-1 rule

    func testLatin1ConvertsOnlyFullyRepresentableStrings() {
        XCTAssertEqual(Latin1.convert([UInt8]()), [])
        XCTAssertEqual(Latin1.convert("plain ASCII".utf8), Array("plain ASCII".utf8))
        XCTAssertEqual(Latin1.convert("ä".utf8), [0xe4])
        XCTAssertEqual(Latin1.convert([0xc2, 0x80, 0xc3, 0xbf]), [0x80, 0xff])
        // C0 and C1 are overlong in UTF-8 but Cyrus's rule accepts them.
        XCTAssertEqual(Latin1.convert([0xc0, 0x80, 0xc1, 0xbf]), [0x00, 0x7f])
        // A stray continuation byte is below 0xC0 and passes through unchanged.
        XCTAssertEqual(Latin1.convert([0x41, 0x80, 0xbf]), [0x41, 0x80, 0xbf])
        XCTAssertNil(Latin1.convert([0xc4, 0x80]))  // U+0100, first code point outside Latin-1
        XCTAssertNil(Latin1.convert([0xc3]))  // lead byte at the end
        XCTAssertNil(Latin1.convert([0xc3, 0x41]))  // lead byte without continuation
        XCTAssertNil(Latin1.convert([0xc3, 0xc0]))
        XCTAssertNil(Latin1.convert("€".utf8))
        XCTAssertNil(Latin1.convert([0xff]))
        XCTAssertTrue(Latin1.isRepresentable(bob.password))
        XCTAssertFalse(Latin1.isRepresentable(carol.password))
        XCTAssertEqual(Latin1.convertIfRepresentable(carol.password), carol.password)
        XCTAssertEqual(Latin1.convertIfRepresentable(bob.password), [0x70, 0xe4, 0x73, 0x73, 0x77, 0xf6, 0x72, 0x64])
    }

    func testLatin1IsRepresentableAgreesWithConvertForEveryTwoByteSequence() {
        for first in 0...255 {
            for second in 0...255 {
                let bytes = [UInt8(first), UInt8(second)]
                XCTAssertEqual(Latin1.isRepresentable(bytes), Latin1.convert(bytes) != nil, "\(bytes)")
            }
        }
    }

    // MARK: - SCRAM

    func testSCRAMSHA256VerifierMatchesCyrusForAlice() throws {
        try assertSCRAM(
            alice,
            .sha256,
            "SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$THoPhoTAuqyoQsK4dUHncUzgfD8fdmhsgKZhWVqNP5U="
                + ":7YiHMMi2OcXGRogub03Ek06JRZ9bkhTOdCzHa5iPLiQ="
        )
    }

    func testSCRAMSHA256VerifierMatchesCyrusForBob() throws {
        try assertSCRAM(
            bob,
            .sha256,
            "SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$HV4TtNKIt8oOQWZCIedFYDVMOGn3/uurWVfN15VjjP4="
                + ":bGoGbn5l5XEF6vc5q836UvsaNZ/n1s4zNZ+A5nNQQv8="
        )
    }

    func testSCRAMSHA256VerifierMatchesCyrusForCarol() throws {
        try assertSCRAM(
            carol,
            .sha256,
            "SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$B4Scrnhi3clH+GCaEM7KGRCLbGL8i3SUiUJRrg8gz3M="
                + ":FJjOuM17xXt0pNg8t1eH4UXARYCZok3xjxSKIC/V/q4="
        )
    }

    func testSCRAMSHA256VerifierMatchesCyrusForDave() throws {
        try assertSCRAM(
            dave,
            .sha256,
            "SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$MaY6dBHugX7wTGlY7RgrshvFhl85r5Xxu6GKnodwzhA="
                + ":lFEBBa5FYtMYql0PqhIGZovMDPlpu5s5yRKogIJPYgY="
        )
    }

    func testSCRAMSHA1VerifierMatchesCyrusForAlice() throws {
        try assertSCRAM(
            alice,
            .sha1,
            "SCRAM-SHA-1$4096:AAECAwQFBgcICQoLDA0ODw==$Y70Wjxts9xDvZXVZpf765VU+gt4=:6tMKK7QnVeI0U1t+EDZXP1e5Qys="
        )
    }

    private func assertSCRAM(
        _ user: SpecUser,
        _ hash: SCRAMHash,
        _ expected: String,
        file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        let salt = try XCTUnwrap(Base64.decode(specSaltBase64), file: file, line: line)
        XCTAssertEqual(salt, (0..<16).map { UInt8($0) }, file: file, line: line)
        let computed = try SCRAMVerifier(hash: hash, password: user.password, salt: salt, iterations: 4096)
        XCTAssertEqual(computed.text, expected, user.authid, file: file, line: line)
        XCTAssertEqual(computed.bytes, Array(expected.utf8), file: file, line: line)
        XCTAssertEqual(computed.description, expected, file: file, line: line)

        let parsed = try XCTUnwrap(SCRAMVerifier(parsing: expected), file: file, line: line)
        XCTAssertEqual(parsed.hash, hash, file: file, line: line)
        XCTAssertEqual(parsed.iterations, 4096, file: file, line: line)
        XCTAssertEqual(parsed.salt, salt, file: file, line: line)
        XCTAssertEqual(parsed.storedKey, computed.storedKey, file: file, line: line)
        XCTAssertEqual(parsed.serverKey, computed.serverKey, file: file, line: line)
        XCTAssertEqual(parsed.text, expected, file: file, line: line)
        XCTAssertTrue(parsed.verify(password: user.password), file: file, line: line)
        XCTAssertFalse(parsed.verify(password: user.password + Array("X".utf8)), file: file, line: line)
    }

    func testSCRAMRealSaslpasswd2OutputRecomputesFromItsSalt() throws {
        let real =
            "SCRAM-SHA-256$4096:o9cMP+ZREPbY3Z1oNvwZ9A==$BfwtIXoin461HxWZrrUos13gdJi4cULYGs2gxuDKTd4="
            + ":3YnSak1KsRgL+J0q+xrLvaLWeo2mEhejBywd3kOslFU="
        let parsed = try XCTUnwrap(SCRAMVerifier(bytes: Array(real.utf8)))
        XCTAssertEqual(parsed.salt.count, SCRAMVerifier.saltLength)
        let recomputed = try SCRAMVerifier(hash: .sha256, password: "pw".utf8, salt: parsed.salt, iterations: 4096)
        XCTAssertEqual(recomputed.text, real)
        XCTAssertTrue(parsed.verify(password: "pw".utf8))
        XCTAssertFalse(parsed.verify(password: "pwX".utf8))
    }

    /// RFC 5802 section 5: the helpers compose into the published client proof and server signature.
    func testSCRAMSHA1HelpersReproduceRFC5802Exchange() throws {
        try assertSCRAMExchange(
            hash: .sha1,
            salt: "QSXCR+Q6sek8bf92",
            clientFirstBare: "n=user,r=fyko+d2lbbFgONRv9qkxdawL",
            serverFirst: "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
            clientFinalWithoutProof: "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j",
            proof: "v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
            serverSignature: "rmF9pqV8S7suAoZWja4dJRkFsKQ="
        )
    }

    /// RFC 7677 section 3.
    func testSCRAMSHA256HelpersReproduceRFC7677Exchange() throws {
        try assertSCRAMExchange(
            hash: .sha256,
            salt: "W22ZaJ0SNY7soEsUEjb6gQ==",
            clientFirstBare: "n=user,r=rOprNGfwEbeRWgbNEkqO",
            serverFirst: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            clientFinalWithoutProof: "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
            proof: "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            serverSignature: "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        )
    }

    private func assertSCRAMExchange(
        hash: SCRAMHash,
        salt: String,
        clientFirstBare: String,
        serverFirst: String,
        clientFinalWithoutProof: String,
        proof: String,
        serverSignature: String
    ) throws {
        let saltBytes = try XCTUnwrap(Base64.decode(salt))
        let salted = hash.saltedPassword(password: "pencil".utf8, salt: saltBytes, iterations: 4096)
        XCTAssertEqual(salted.count, hash.digestLength)
        let clientKey = hash.clientKey(saltedPassword: salted)
        let storedKey = hash.storedKey(clientKey: clientKey)
        let serverKey = hash.serverKey(saltedPassword: salted)
        let authMessage = Array("\(clientFirstBare),\(serverFirst),\(clientFinalWithoutProof)".utf8)
        let clientSignature = hash.hmac(key: storedKey, authMessage)
        let clientProof = zip(clientKey, clientSignature).map { $0 ^ $1 }
        XCTAssertEqual(Base64.encode(clientProof), proof)
        XCTAssertEqual(Base64.encode(hash.hmac(key: serverKey, authMessage)), serverSignature)
        XCTAssertEqual(hash.hash(clientKey), storedKey)

        let verifier = try SCRAMVerifier(hash: hash, password: "pencil".utf8, salt: saltBytes, iterations: 4096)
        XCTAssertEqual(verifier.storedKey, storedKey)
        XCTAssertEqual(verifier.serverKey, serverKey)
    }

    func testSCRAMHashMechanismNames() {
        XCTAssertEqual(SCRAMHash.sha1.mechanismName, "SCRAM-SHA-1")
        XCTAssertEqual(SCRAMHash.sha256.mechanismName, "SCRAM-SHA-256")
        XCTAssertEqual(SCRAMHash(mechanismName: "SCRAM-SHA-256"), .sha256)
        XCTAssertEqual(SCRAMHash(mechanismName: "SCRAM-SHA-1"), .sha1)
        XCTAssertNil(SCRAMHash(mechanismName: "scram-sha-1"))
        XCTAssertNil(SCRAMHash(mechanismName: "SCRAM-SHA-512"))
        XCTAssertEqual(SCRAMHash.sha1.digestLength, 20)
        XCTAssertEqual(SCRAMHash.sha256.digestLength, 32)
    }

    func testSCRAMParseSkipsLeadingSpacesLikeCyrus() throws {
        let value =
            "SCRAM-SHA-1$4096:AAECAwQFBgcICQoLDA0ODw==$Y70Wjxts9xDvZXVZpf765VU+gt4=:6tMKK7QnVeI0U1t+EDZXP1e5Qys="
        let parsed = try XCTUnwrap(SCRAMVerifier(parsing: "   " + value))
        XCTAssertEqual(parsed.text, value)
        XCTAssertTrue(parsed.verify(password: "secret".utf8))
    }

    func testSCRAMParseAcceptsIterationBoundsAndOtherSaltLengths() throws {
        let keys = "$Y70Wjxts9xDvZXVZpf765VU+gt4=:6tMKK7QnVeI0U1t+EDZXP1e5Qys="
        XCTAssertEqual(SCRAMVerifier(parsing: "SCRAM-SHA-1$1:AA==" + keys)?.iterations, 1)
        XCTAssertEqual(SCRAMVerifier(parsing: "SCRAM-SHA-1$2147483647:AA==" + keys)?.iterations, Int(Int32.max))
        XCTAssertEqual(SCRAMVerifier(parsing: "SCRAM-SHA-1$10000:AAECAwQFBgcICQoLDA0ODxAREhM=" + keys)?.salt.count, 20)
    }

    func testSCRAMParseRejectsMalformedValues() {
        let salt = "AAECAwQFBgcICQoLDA0ODw=="
        let stored = "THoPhoTAuqyoQsK4dUHncUzgfD8fdmhsgKZhWVqNP5U="
        let server = "7YiHMMi2OcXGRogub03Ek06JRZ9bkhTOdCzHa5iPLiQ="
        let sha1Key = "Y70Wjxts9xDvZXVZpf765VU+gt4="
        let good = "SCRAM-SHA-256$4096:\(salt)$\(stored):\(server)"
        XCTAssertNotNil(SCRAMVerifier(parsing: good))
        let malformed: [(String, String)] = [
            ("", "empty"),
            ("SCRAM-SHA-512$4096:\(salt)$\(stored):\(server)", "unsupported mechanism"),
            ("scram-sha-256$4096:\(salt)$\(stored):\(server)", "mechanism in the wrong case"),
            ("SCRAM-SHA-1$4096:\(salt)$\(stored):\(server)", "SHA-256 keys under the SHA-1 name"),
            ("SCRAM-SHA-256 $4096:\(salt)$\(stored):\(server)", "space before $"),
            ("SCRAM-SHA-2564096:\(salt)$\(stored):\(server)", "missing $ after the mechanism"),
            ("SCRAM-SHA-256$4096\(salt)$\(stored):\(server)", "missing : after the count"),
            ("SCRAM-SHA-256$4096:\(salt)\(stored):\(server)", "missing $ after the salt"),
            ("SCRAM-SHA-256$4096:\(salt)$\(stored)\(server)", "missing : between the keys"),
            ("SCRAM-SHA-256$4096:\(salt)$\(stored)", "missing ServerKey"),
            ("SCRAM-SHA-256$0:\(salt)$\(stored):\(server)", "zero iterations"),
            ("SCRAM-SHA-256$-1:\(salt)$\(stored):\(server)", "negative iterations"),
            ("SCRAM-SHA-256$+4096:\(salt)$\(stored):\(server)", "signed iterations"),
            ("SCRAM-SHA-256$04096:\(salt)$\(stored):\(server)", "leading zero"),
            ("SCRAM-SHA-256$ 4096:\(salt)$\(stored):\(server)", "space in the count"),
            ("SCRAM-SHA-256$4096x:\(salt)$\(stored):\(server)", "junk in the count"),
            ("SCRAM-SHA-256$:\(salt)$\(stored):\(server)", "empty count"),
            ("SCRAM-SHA-256$2147483648:\(salt)$\(stored):\(server)", "count above Int32.max"),
            ("SCRAM-SHA-256$99999999999999999999999:\(salt)$\(stored):\(server)", "count that overflows"),
            ("SCRAM-SHA-256$4096:$\(stored):\(server)", "empty salt"),
            ("SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw=$\(stored):\(server)", "salt with bad padding"),
            ("SCRAM-SHA-256$4096:AAECAwQF BgcICQoLDA0ODw==$\(stored):\(server)", "space inside the salt"),
            ("SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw-_$\(stored):\(server)", "URL-safe alphabet"),
            ("SCRAM-SHA-256$4096:\(salt)$\(sha1Key):\(server)", "StoredKey of the wrong length"),
            ("SCRAM-SHA-256$4096:\(salt)$\(stored):\(sha1Key)", "ServerKey of the wrong length"),
            ("SCRAM-SHA-256$4096:\(salt)$\(stored):\(server) ", "trailing space"),
            ("SCRAM-SHA-256$4096:\(salt)$\(stored):\(server)\n", "trailing newline"),
            ("SCRAM-SHA-256$4096:\(salt)$\(stored):\(server)\u{0}", "trailing NUL"),
            ("SCRAM-SHA-256$4096:\(salt)$\(stored):\(server):\(server)", "extra field"),
            ("SCRAM-SHA-256$4096:\(salt)$\(stored):\(server)$x", "extra $ field"),
            ("SCRAM-SHA-256$4096:\(salt)$\(stored.dropLast())!:\(server)", "bad base64 in StoredKey"),
        ]
        for (value, reason) in malformed {
            XCTAssertNil(SCRAMVerifier(parsing: value), reason)
        }
        XCTAssertNil(SCRAMVerifier(bytes: Array(good.utf8) + [0xff]))
    }

    func testSCRAMVerifierRejectsInvalidParameters() {
        let salt = (0..<16).map { UInt8($0) }
        XCTAssertThrowsError(try SCRAMVerifier(hash: .sha256, password: "pw".utf8, salt: salt, iterations: 0))
        XCTAssertThrowsError(try SCRAMVerifier(hash: .sha256, password: "pw".utf8, salt: [], iterations: 4096))
        XCTAssertThrowsError(try SCRAMVerifier(hash: .sha256, password: [UInt8](), salt: salt, iterations: 4096))
        XCTAssertThrowsError(
            try SCRAMVerifier(hash: .sha256, iterations: 4096, salt: salt, storedKey: [0], serverKey: [0])
        )
    }

    func testSCRAMVerifierWithRandomSaltUsesSixteenFreshBytes() throws {
        let first = try SCRAMVerifier(hash: .sha256, password: "pw".utf8, iterations: 1)
        let second = try SCRAMVerifier(hash: .sha256, password: "pw".utf8, iterations: 1)
        XCTAssertEqual(first.salt.count, 16)
        XCTAssertNotEqual(first.salt, second.salt)
        XCTAssertEqual(first.iterations, 1)
        XCTAssertTrue(first.verify(password: "pw".utf8))
        XCTAssertEqual(try SCRAMVerifier(hash: .sha1, password: "pw".utf8).iterations, 4096)
        let reparsed = try XCTUnwrap(SCRAMVerifier(parsing: first.text))
        XCTAssertEqual(reparsed.text, first.text)
    }

    // MARK: - Legacy PLAIN secret

    func testPlainSecretMatchesCyrusForAlice() throws {
        let stored = try XCTUnwrap(Hex.decode("101112131415161718191a1b1c1d1e1f00fdbc2225fae652efc1db09c3b45ba811"))
        let secret = try XCTUnwrap(PlainSecret(bytes: stored))
        XCTAssertTrue(secret.verify(password: alice.password))
        XCTAssertFalse(secret.verify(password: alice.password + Array("X".utf8)))
        XCTAssertFalse(secret.verify(password: [UInt8]()))
        XCTAssertTrue(PlainSecret.verify(stored: stored, password: "secret".utf8))
        XCTAssertFalse(PlainSecret.verify(stored: stored, password: "Secret".utf8))
    }

    func testPlainSecretRejectsMalformedStoredValues() throws {
        let stored = try XCTUnwrap(Hex.decode("101112131415161718191a1b1c1d1e1f00fdbc2225fae652efc1db09c3b45ba811"))
        XCTAssertNil(PlainSecret(bytes: stored.dropLast()))
        XCTAssertNil(PlainSecret(bytes: stored + [0]))
        var badSeparator = stored
        badSeparator[16] = 0x01
        XCTAssertNil(PlainSecret(bytes: badSeparator))
        XCTAssertFalse(PlainSecret.verify(stored: badSeparator, password: "secret".utf8))
        XCTAssertFalse(PlainSecret.verify(stored: [UInt8](), password: "secret".utf8))
    }
}
