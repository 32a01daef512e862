import SASLDB
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Known-answer tests for the libcrypto-backed primitives and strict tests for the text encodings.
final class CryptoTests: XCTestCase {

    // MARK: - Digests

    func testDigestsMatchFIPS180AndRFC1321KnownAnswers() {
        let abc = Array("abc".utf8)
        XCTAssertEqual(Hex.encode(digest(.md5, [UInt8]())), "d41d8cd98f00b204e9800998ecf8427e")
        XCTAssertEqual(Hex.encode(digest(.md5, abc)), "900150983cd24fb0d6963f7d28e17f72")
        XCTAssertEqual(Hex.encode(digest(.sha1, abc)), "a9993e364706816aba3e25717850c26c9cd0d89d")
        XCTAssertEqual(Hex.encode(digest(.sha224, abc)), "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7")
        XCTAssertEqual(
            Hex.encode(digest(.sha256, abc)),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        )
        XCTAssertEqual(
            Hex.encode(digest(.sha384, abc)),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"
        )
        XCTAssertEqual(
            Hex.encode(digest(.sha512, abc)),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                + "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        )
    }

    func testDigestLengthMatchesOutputForEveryAlgorithm() {
        for algorithm in HashAlgorithm.allCases {
            XCTAssertEqual(algorithm.digest("x".utf8).count, algorithm.digestLength, "\(algorithm)")
            XCTAssertEqual(hmac(algorithm, key: [1, 2, 3], "x".utf8).count, algorithm.digestLength, "\(algorithm)")
        }
    }

    func testDigestAcceptsNonContiguousCollections() {
        let data = Array("The quick brown fox".utf8)
        XCTAssertEqual(digest(.sha256, data.lazy.map { $0 }), digest(.sha256, data))
        XCTAssertEqual(digest(.sha256, data[4...]), digest(.sha256, Array(data[4...])))
    }

    // MARK: - HMAC

    /// RFC 2202 section 2.
    func testHMACMD5MatchesRFC2202() {
        for (index, testCase) in rfc2202Inputs().enumerated() {
            let expected = [
                "9294727a3638bb1c13f48ef8158bfc9d",
                "750c783e6ab0b503eaa86e310a5db738",
                "56be34521d144c88dbb8c733f0e8b3f6",
                "697eaf0aca3a3aea3a75164746ffaa79",
                "56461ef2342edc00f9bab995690efd4c",
                "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd",
                "6f630fad67cda0ee1fb1f562db3aa53e",
            ][index]
            let key = testCase.md5Key
            XCTAssertEqual(Hex.encode(hmac(.md5, key: key, testCase.data)), expected, "test case \(index + 1)")
        }
    }

    /// RFC 2202 section 3.
    func testHMACSHA1MatchesRFC2202() {
        for (index, testCase) in rfc2202Inputs().enumerated() {
            let expected = [
                "b617318655057264e28bc0b6fb378c8ef146be00",
                "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
                "125d7342b9ac11cd91a39af48aa17b4f63f175d3",
                "4c9007f4026250c6bc8414f9bf50c86c2d7235da",
                "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04",
                "aa4ae5e15272d00e95705637ce8a3b55ed402112",
                "e8e99d0f45237d786d6bbaa7965c7808bbff1a91",
            ][index]
            let key = testCase.sha1Key
            XCTAssertEqual(Hex.encode(hmac(.sha1, key: key, testCase.data)), expected, "test case \(index + 1)")
        }
    }

    /// RFC 4231 section 4, every case except the truncated case 5.
    func testHMACSHA256MatchesRFC4231() {
        for testCase in rfc4231Cases() {
            XCTAssertEqual(
                Hex.encode(hmac(.sha256, key: testCase.key, testCase.data)),
                testCase.sha256,
                "test case \(testCase.number)"
            )
        }
    }

    /// RFC 4231 test cases 1, 2, 6 and 7 for the other SHA-2 sizes.
    func testHMACSHA224SHA384SHA512MatchRFC4231() {
        let cases = rfc4231Cases()
        let expected: [(Int, HashAlgorithm, String)] = [
            (1, .sha224, "896fb1128abbdf196832107cd49df33f47b4b1169912ba4f53684b22"),
            (2, .sha224, "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44"),
            (
                1, .sha384,
                "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6"
            ),
            (
                2, .sha384,
                "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649"
            ),
            (
                1, .sha512,
                "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
                    + "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"
            ),
            (
                2, .sha512,
                "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
                    + "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
            ),
            (
                6, .sha512,
                "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
                    + "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"
            ),
            (
                7, .sha512,
                "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944"
                    + "b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58"
            ),
        ]
        for (number, algorithm, hex) in expected {
            guard let testCase = cases.first(where: { $0.number == number }) else {
                XCTFail("no RFC 4231 case \(number)")
                continue
            }
            XCTAssertEqual(
                Hex.encode(hmac(algorithm, key: testCase.key, testCase.data)),
                hex,
                "\(algorithm) case \(number)"
            )
        }
    }

    func testHMACWithEmptyKeyAndEmptyDataMatchesKnownAnswer() {
        // HMAC-SHA256("", ""), a case where a null key pointer would be handled specially by libcrypto.
        XCTAssertEqual(
            Hex.encode(hmac(.sha256, key: [UInt8](), [UInt8]())),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"
        )
    }

    // MARK: - PBKDF2

    /// RFC 6070 section 2; the 16777216-iteration case runs only with SASLDB_SLOW_TESTS=1.
    func testPBKDF2SHA1MatchesRFC6070() {
        let password = Array("password".utf8)
        let salt = Array("salt".utf8)
        XCTAssertEqual(
            Hex.encode(pbkdf2(.sha1, password: password, salt: salt, iterations: 1, length: 20)),
            "0c60c80f961f0e71f3a9b524af6012062fe037a6"
        )
        XCTAssertEqual(
            Hex.encode(pbkdf2(.sha1, password: password, salt: salt, iterations: 2, length: 20)),
            "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957"
        )
        XCTAssertEqual(
            Hex.encode(pbkdf2(.sha1, password: password, salt: salt, iterations: 4096, length: 20)),
            "4b007901b765489abead49d926f721d065a429c1"
        )
        XCTAssertEqual(
            Hex.encode(
                pbkdf2(
                    .sha1,
                    password: Array("passwordPASSWORDpassword".utf8),
                    salt: Array("saltSALTsaltSALTsaltSALTsaltSALTsalt".utf8),
                    iterations: 4096,
                    length: 25
                )
            ),
            "3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038"
        )
        XCTAssertEqual(
            Hex.encode(
                pbkdf2(
                    .sha1,
                    password: Array("pass\u{0}word".utf8),
                    salt: Array("sa\u{0}lt".utf8),
                    iterations: 4096,
                    length: 16
                )
            ),
            "56fa6aa75548099dcc37d7f03425e0c3"
        )
        if getenv("SASLDB_SLOW_TESTS").map({ String(cString: $0) }) == "1" {
            XCTAssertEqual(
                Hex.encode(pbkdf2(.sha1, password: password, salt: salt, iterations: 16_777_216, length: 20)),
                "eefe3d61cd4da4e4e9945b3d6ba2158c2634e984"
            )
        }
    }

    func testPBKDF2SHA256MatchesPublishedVectors() {
        let password = Array("password".utf8)
        let salt = Array("salt".utf8)
        XCTAssertEqual(
            Hex.encode(pbkdf2(.sha256, password: password, salt: salt, iterations: 1, length: 32)),
            "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"
        )
        XCTAssertEqual(
            Hex.encode(pbkdf2(.sha256, password: password, salt: salt, iterations: 2, length: 32)),
            "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43"
        )
        XCTAssertEqual(
            Hex.encode(pbkdf2(.sha256, password: password, salt: salt, iterations: 4096, length: 32)),
            "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"
        )
    }

    // MARK: - Constant-time comparison and randomness

    func testConstantTimeEqualComparesContentAndLength() {
        XCTAssertTrue(constantTimeEqual([UInt8](), [UInt8]()))
        XCTAssertTrue(constantTimeEqual([1, 2, 3] as [UInt8], [1, 2, 3] as [UInt8]))
        XCTAssertFalse(constantTimeEqual([1, 2, 3] as [UInt8], [1, 2, 4] as [UInt8]))
        XCTAssertFalse(constantTimeEqual([9, 2, 3] as [UInt8], [1, 2, 3] as [UInt8]))
        XCTAssertFalse(constantTimeEqual([1, 2, 3] as [UInt8], [1, 2] as [UInt8]))
        XCTAssertFalse(constantTimeEqual([UInt8](), [0] as [UInt8]))
        let bytes: [UInt8] = [0, 1, 2, 3, 4]
        XCTAssertTrue(constantTimeEqual(bytes[2...], [2, 3, 4] as [UInt8]))
        XCTAssertTrue(constantTimeEqual(bytes.lazy.map { $0 }, bytes))
    }

    func testSecureRandomReturnsRequestedCountOfFreshBytes() {
        XCTAssertEqual(SecureRandom.bytes(count: 0), [])
        let first = SecureRandom.bytes(count: 32)
        let second = secureRandomBytes(count: 32)
        XCTAssertEqual(first.count, 32)
        XCTAssertEqual(second.count, 32)
        // Equal 256-bit draws would mean the generator is broken.
        XCTAssertNotEqual(first, second)
        XCTAssertEqual(SecureRandom.bytes(count: 3 << 20).count, 3 << 20)
    }

    // MARK: - Base64

    /// RFC 4648 section 10.
    func testBase64MatchesRFC4648Vectors() {
        let vectors = [
            ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ]
        for (plain, encoded) in vectors {
            XCTAssertEqual(Base64.encode(plain.utf8), encoded)
            XCTAssertEqual(Base64.decode(encoded), Array(plain.utf8), encoded)
        }
        XCTAssertEqual(Base64.encode([0xfb, 0xff, 0xbf]), "+/+/")
        XCTAssertEqual(Base64.decode("+/+/"), [0xfb, 0xff, 0xbf])
    }

    func testBase64RoundTripsEveryLengthAndLargeInput() {
        for length in 0...200 {
            let bytes = SecureRandom.bytes(count: length)
            let encoded = Base64.encode(bytes)
            XCTAssertEqual(encoded.utf8.count, (length + 2) / 3 * 4)
            XCTAssertEqual(Base64.decode(encoded), bytes, "length \(length)")
        }
        // Larger than one internal chunk, with a padded tail.
        let large = SecureRandom.bytes(count: 3 * 40_000 + 1)
        let encoded = Base64.encode(large)
        XCTAssertFalse(encoded.contains("\n"))
        XCTAssertEqual(Base64.decode(encoded), large)
    }

    func testBase64RejectsMalformedInput() {
        let malformed = [
            "Zg", "Zg=", "Zm9", "Zm9vY",  // length not a multiple of 4
            "Zm9v\n", " Zm9v", "Zm9v ", "Zm 9", "Zm\r\n9v", "Zm9v\t",  // whitespace
            "Zm-v", "Zm_v", "Zm9v!A==", "Zm9vé===", "Zm9\u{0}",  // characters outside the alphabet
            "Zg=a", "Z===", "====", "=Zm9", "Zg==Zg==", "Zm=v", "Zm9v====",  // misplaced or excess padding
            "Zh==", "Zm9=",  // non-zero bits after the last byte
        ]
        for text in malformed {
            XCTAssertNil(Base64.decode(text), "accepted \(text.debugDescription)")
        }
        XCTAssertNil(Base64.decode(bytes: [0x5a, 0x6d, 0x39, 0xff]))
    }

    // MARK: - Hex

    func testHexEncodesLowercaseAndRoundTrips() {
        XCTAssertEqual(Hex.encode([0x00, 0x0f, 0xa0, 0xff]), "000fa0ff")
        XCTAssertEqual(Hex.encode([UInt8]()), "")
        let all = (0...255).map { UInt8($0) }
        XCTAssertEqual(Hex.decode(Hex.encode(all)), all)
        XCTAssertEqual(Hex.decode("DEADbeef"), [0xde, 0xad, 0xbe, 0xef])
        XCTAssertEqual(Hex.decode(""), [])
    }

    func testHexRejectsMalformedInput() {
        for text in ["0", "abc", "0x00", "0g", "zz", " 00", "00 ", "00:11", "é0", "0\n"] {
            XCTAssertNil(Hex.decode(text), "accepted \(text.debugDescription)")
        }
    }

    // MARK: - Test data

    private struct RFC2202Case {
        var md5Key: [UInt8]
        var sha1Key: [UInt8]
        var data: [UInt8]
    }

    /// The seven RFC 2202 inputs; MD5 and SHA-1 use different key lengths in cases 1, 3 and 5.
    private func rfc2202Inputs() -> [RFC2202Case] {
        let incrementing = (1...25).map { UInt8($0) }
        return [
            RFC2202Case(
                md5Key: [UInt8](repeating: 0x0b, count: 16),
                sha1Key: [UInt8](repeating: 0x0b, count: 20),
                data: Array("Hi There".utf8)
            ),
            RFC2202Case(
                md5Key: Array("Jefe".utf8),
                sha1Key: Array("Jefe".utf8),
                data: Array("what do ya want for nothing?".utf8)
            ),
            RFC2202Case(
                md5Key: [UInt8](repeating: 0xaa, count: 16),
                sha1Key: [UInt8](repeating: 0xaa, count: 20),
                data: [UInt8](repeating: 0xdd, count: 50)
            ),
            RFC2202Case(md5Key: incrementing, sha1Key: incrementing, data: [UInt8](repeating: 0xcd, count: 50)),
            RFC2202Case(
                md5Key: [UInt8](repeating: 0x0c, count: 16),
                sha1Key: [UInt8](repeating: 0x0c, count: 20),
                data: Array("Test With Truncation".utf8)
            ),
            RFC2202Case(
                md5Key: [UInt8](repeating: 0xaa, count: 80),
                sha1Key: [UInt8](repeating: 0xaa, count: 80),
                data: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)
            ),
            RFC2202Case(
                md5Key: [UInt8](repeating: 0xaa, count: 80),
                sha1Key: [UInt8](repeating: 0xaa, count: 80),
                data: Array("Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data".utf8)
            ),
        ]
    }

    private struct RFC4231Case {
        var number: Int
        var key: [UInt8]
        var data: [UInt8]
        var sha256: String
    }

    private func rfc4231Cases() -> [RFC4231Case] {
        let longKey = [UInt8](repeating: 0xaa, count: 131)
        return [
            RFC4231Case(
                number: 1,
                key: [UInt8](repeating: 0x0b, count: 20),
                data: Array("Hi There".utf8),
                sha256: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
            ),
            RFC4231Case(
                number: 2,
                key: Array("Jefe".utf8),
                data: Array("what do ya want for nothing?".utf8),
                sha256: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
            ),
            RFC4231Case(
                number: 3,
                key: [UInt8](repeating: 0xaa, count: 20),
                data: [UInt8](repeating: 0xdd, count: 50),
                sha256: "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"
            ),
            RFC4231Case(
                number: 4,
                key: (1...25).map { UInt8($0) },
                data: [UInt8](repeating: 0xcd, count: 50),
                sha256: "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"
            ),
            RFC4231Case(
                number: 6,
                key: longKey,
                data: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
                sha256: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
            ),
            RFC4231Case(
                number: 7,
                key: longKey,
                data: Array(
                    ("This is a test using a larger than block-size key and a larger than block-size data. "
                        + "The key needs to be hashed before being used by the HMAC algorithm.").utf8
                ),
                sha256: "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
            ),
        ]
    }
}

/// The one way buffers that held a secret are wiped.
final class SecureEraseTests: XCTestCase {
    func testOverwriteWithZerosWipesTheBufferInPlace() {
        var buffer = Array("secret".utf8)
        let address = buffer.withUnsafeBufferPointer { $0.baseAddress }
        buffer.overwriteWithZeros()
        XCTAssertEqual(buffer, [0, 0, 0, 0, 0, 0])
        XCTAssertEqual(buffer.withUnsafeBufferPointer { $0.baseAddress }, address, "the same storage, not a copy")
    }

    func testSharedStorageIsWipedForEveryCopyButASeparateCopyKeepsItsBytes() {
        let original = Array("secret".utf8)
        let shared = original
        let separate = original.separateCopy
        original.overwriteSharedStorageWithZeros()
        XCTAssertEqual(shared, [0, 0, 0, 0, 0, 0], "a copy shares the wiped storage")
        XCTAssertEqual(separate, Array("secret".utf8))
    }
}
