import SASLDB

/// The directives of a digest-response the server uses, validated and bounded.
struct DigestResponse {
    /// UTF-8; without `charset=utf-8`, converted from ISO-8859-1 unless it already is valid UTF-8.
    var username: [UInt8]
    /// UTF-8 like `username`; `nil` when absent.
    var realm: [UInt8]?
    var nonce: [UInt8]
    var clientNonce: [UInt8]
    /// Exactly the 8 hex digits sent (value 1).
    var nonceCount: [UInt8]
    /// As sent (case kept, since it is hashed), `auth` when absent.
    var qop: [UInt8]
    var digestURI: [UInt8]
    /// The 16 bytes decoded from the `response` hex.
    var response: [UInt8]
    /// UTF-8; `nil` when absent (an empty one is still hashed, as Cyrus does).
    var authzid: [UInt8]?

    init(_ directives: DigestDirectives, expectedNonce: [UInt8]) throws(SASLFailure) {
        func required(_ name: String) throws(SASLFailure) -> [UInt8] {
            guard let value = directives[name] else {
                throw .malformed(reason: "the digest-response has no \(name) directive")
            }
            return value
        }

        // RFC 2831: only "utf-8" may be named; without it username and realm are ISO-8859-1 (but see identity()).
        let isUTF8: Bool
        if let charset = directives["charset"] {
            guard String(decoding: charset, as: UTF8.self).lowercased() == "utf-8" else {
                throw .malformed(reason: "charset \(DigestMD5Mechanism.show(charset)) is not utf-8")
            }
            isUTF8 = true
        } else {
            isUTF8 = false
        }

        qop = directives["qop"] ?? Array("auth".utf8)
        guard String(decoding: qop, as: UTF8.self).lowercased() == "auth" else {
            throw .malformed(
                reason:
                    "qop=\(DigestMD5Mechanism.show(qop)) asks for a security layer; only qop=auth is offered (use TLS)"
            )
        }

        nonce = try required("nonce")
        guard nonce == expectedNonce else {
            throw .malformed(reason: "the nonce is not the one this server sent")
        }

        nonceCount = try required("nc")
        guard nonceCount.count == 8, nonceCount.allSatisfy(Self.isLowercaseHexDigit),
            Hex.decode(String(decoding: nonceCount, as: UTF8.self)) == [0, 0, 0, 1]
        else {
            throw .malformed(
                reason:
                    "nc=\(DigestMD5Mechanism.show(nonceCount)) is not 00000001 (subsequent authentication is not supported)"
            )
        }

        clientNonce = try required("cnonce")
        guard !clientNonce.isEmpty, clientNonce.count <= DigestMD5Mechanism.maximumClientNonceLength else {
            throw .malformed(
                reason: "the cnonce must be 1 to \(DigestMD5Mechanism.maximumClientNonceLength) bytes long"
            )
        }

        digestURI = try required("digest-uri")

        let responseHex = try required("response")
        // RFC 2831's LHEX: Cyrus compares the text with its own lowercase digest, so uppercase never worked.
        guard responseHex.count == 32, responseHex.allSatisfy(Self.isLowercaseHexDigit),
            let digest = Hex.decode(String(decoding: responseHex, as: UTF8.self))
        else {
            throw .malformed(reason: "the response is not 32 lowercase hex digits")
        }
        response = digest

        if let maxbuf = directives["maxbuf"] {
            // Meaningless without a security layer, but Cyrus refuses a malformed one and so do we.
            guard maxbuf.count <= 8, maxbuf.allSatisfy({ (0x30...0x39).contains($0) }),
                let size = Int(String(decoding: maxbuf, as: UTF8.self)), (17...16_777_215).contains(size)
            else {
                throw .malformed(
                    reason: "maxbuf=\(DigestMD5Mechanism.show(maxbuf)) is not a number from 17 to 16777215"
                )
            }
        }

        username = try Self.identity(try required("username"), named: "username", isUTF8: isUTF8)
        guard !username.isEmpty else { throw .malformed(reason: "the username is empty") }
        realm = try directives["realm"].map { (value) throws(SASLFailure) in
            try Self.identity(value, named: "realm", isUTF8: isUTF8)
        }
        // RFC 2831 §2.1.2: the authzid is UTF-8 whatever the charset.
        authzid = try directives["authzid"].map { (value) throws(SASLFailure) in
            try Self.identity(value, named: "authzid", isUTF8: true)
        }
    }

    /// Bounds a name and brings it to UTF-8.
    private static func identity(_ value: [UInt8], named name: String, isUTF8: Bool) throws(SASLFailure) -> [UInt8] {
        guard value.count <= DigestMD5Mechanism.maximumIdentityLength else {
            throw .malformed(reason: "the \(name) is longer than \(DigestMD5Mechanism.maximumIdentityLength) bytes")
        }
        let isValidUTF8 = String(validating: value, as: UTF8.self) != nil
        if isUTF8 {
            guard isValidUTF8 else {
                throw .malformed(reason: "the \(name) is not valid UTF-8 although charset=utf-8 was sent")
            }
            return value
        }
        // Without charset RFC 2831 means ISO-8859-1, but Cyrus's client sends UTF-8 names without charset and Cyrus's
        // server never converts them: valid UTF-8 is taken as is, anything else as ISO-8859-1 (whose bytes are the
        // first 256 Unicode scalars). A real ISO-8859-1 name is rarely valid UTF-8.
        if isValidUTF8 { return value }
        return Array(String(String.UnicodeScalarView(value.map { Unicode.Scalar($0) })).utf8)
    }

    /// H(A1) = H(secret ":" nonce ":" cnonce [":" authzid]), the session key of md5-sess.
    func sessionKey(secret: [UInt8]) -> [UInt8] {
        let colon = DigestMD5Mechanism.colon
        var a1 = secret + [colon] + nonce + [colon] + clientNonce
        if let authzid { a1 += [colon] + authzid }
        return HashAlgorithm.md5.digest(a1)
    }

    /// KD(HEX(H(A1)), nonce ":" nc ":" cnonce ":" qop ":" HEX(H(A2))), as raw bytes.
    func digest(sessionKey: [UInt8], hashedA2: String) -> [UInt8] {
        let colon = DigestMD5Mechanism.colon
        let data =
            Array(Hex.encode(sessionKey).utf8) + [colon] + nonce + [colon] + nonceCount + [colon] + clientNonce
            + [colon] + qop + [colon] + Array(hashedA2.utf8)
        return HashAlgorithm.md5.digest(data)
    }

    private static func isLowercaseHexDigit(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x61...0x66).contains(byte)
    }
}
