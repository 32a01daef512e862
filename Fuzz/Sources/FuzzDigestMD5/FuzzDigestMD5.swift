// DIGEST-MD5 (RFC 2831), driven through the public mechanism (its directive parser, DigestDirectives, is internal).
//
// The input is `digest-response [0xFF final-response]`. In the digest-response `%N` becomes the server's nonce and `%D`
// the right `response` value for the password `pw`, computed here from the directives as a client would (a simple
// reading of the list; when it disagrees with the server's strict parser the digest is just wrong). That lets the
// fuzzer get past the nonce and digest checks to the user mapping, the stored-hash rules, authorization, `rspauth`
// and the final empty response.
// Invariants: `rspauth` only after a digest computed from the password, and equal to the one computed here; success
// only for a genuine user; nothing accepted after the end.
import FuzzSupport
import SASLDB
import SASLMechanisms

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let parts = messages(inputBytes(data, size), maxCount: 2)

    var mechanism: any SASLServerMechanism = DigestMD5Mechanism(
        context: Fixture.context,
        acceptedHosts: .hostName(alsoAccepting: [Fixture.alias])
    )
    guard case .challenge(let challenge) = step(&mechanism, nil, name: "DIGEST-MD5"),
        let nonce = quotedValue("nonce", in: challenge)
    else {
        require(false, "DIGEST-MD5 did not start with a challenge holding a nonce")
        return 0
    }
    require(challenge.count <= DigestMD5Mechanism.maximumChallengeLength, "DIGEST-MD5 challenge too long")

    var response = replacing(Placeholder.nonce, with: nonce, in: parts[0])
    var expected: (response: [UInt8], rspauth: [UInt8])?
    if contains(response, Placeholder.digest) {
        expected = clientDigests(ClientView(response))
        response = replacing(Placeholder.digest, with: expected?.response ?? [], in: response)
    }
    var outcome = step(&mechanism, response, name: "DIGEST-MD5")
    if case .challenge(let rspauth) = outcome {
        guard let expected else {
            require(false, "DIGEST-MD5 accepted a response not computed from the password")
            return 0
        }
        require(rspauth == Array("rspauth=".utf8) + expected.rspauth, "DIGEST-MD5 sent a wrong rspauth")
        guard parts.count > 1 else { return 0 }
        outcome = step(&mechanism, parts[1], name: "DIGEST-MD5")
        require(isTerminal(outcome), "DIGEST-MD5 asked for more after rspauth")
        if let identity = identity(of: outcome) {
            require(parts[1].isEmpty, "DIGEST-MD5 accepted a non-empty final response")
            checkIdentity(identity, mechanism: "DIGEST-MD5")
        }
    }
    checkFinished(mechanism, name: "DIGEST-MD5")
    return 0
}

/// The value of `name="..."` in a server challenge (which escapes nothing in the nonce).
private func quotedValue(_ name: String, in challenge: [UInt8]) -> [UInt8]? {
    let prefix = Array("\(name)=\"".utf8)
    guard let start = firstIndex(of: prefix, in: challenge) else { return nil }
    let valueStart = start + prefix.count
    guard let end = challenge[valueStart...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
    return Array(challenge[valueStart..<end])
}

/// The directives as a lenient client-side reader sees them: first occurrence wins, names lowercased, quotes and
/// backslash escapes removed, surrounding blanks trimmed.
private struct ClientView {
    var values: [String: [UInt8]] = [:]

    init(_ text: [UInt8]) {
        let blanks: Set<UInt8> = [0x20, 0x09, 0x0d, 0x0a]
        var index = 0
        func skipBlanks() { while index < text.count, blanks.contains(text[index]) { index += 1 } }
        while index < text.count {
            skipBlanks()
            if index < text.count, text[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            var name: [UInt8] = []
            while index < text.count, text[index] != UInt8(ascii: "="), text[index] != UInt8(ascii: ",") {
                name.append(text[index])
                index += 1
            }
            guard index < text.count, text[index] == UInt8(ascii: "=") else { continue }
            index += 1
            skipBlanks()
            var value: [UInt8] = []
            if index < text.count, text[index] == UInt8(ascii: "\"") {
                index += 1
                while index < text.count, text[index] != UInt8(ascii: "\"") {
                    if text[index] == UInt8(ascii: "\\"), index + 1 < text.count { index += 1 }
                    value.append(text[index])
                    index += 1
                }
                index += 1
            } else {
                while index < text.count, text[index] != UInt8(ascii: ",") {
                    value.append(text[index])
                    index += 1
                }
                while let last = value.last, blanks.contains(last) { value.removeLast() }
            }
            while let last = name.last, blanks.contains(last) { name.removeLast() }
            let key = String(decoding: name, as: UTF8.self).lowercased()
            if values[key] == nil { values[key] = value }
        }
    }

    subscript(_ name: String) -> [UInt8]? { values[name] }
}

/// The `response` and `rspauth` values (hex) for the password `pw`, per RFC 2831 §2.1.2.1 with md5-sess.
private func clientDigests(_ view: ClientView) -> (response: [UInt8], rspauth: [UInt8]) {
    let md5 = FuzzHash.md5
    let colon = [UInt8(ascii: ":")]
    // Without charset=utf-8 the names are ISO-8859-1; the secret is computed on their UTF-8 form converted back.
    let isUTF8 = view["charset"] != nil
    func name(_ raw: [UInt8]) -> [UInt8] {
        isUTF8 ? raw : Array(String(String.UnicodeScalarView(raw.map { Unicode.Scalar($0) })).utf8)
    }
    let secret = DigestMD5Secret.hash(
        authid: name(view["username"] ?? []),
        realm: name(view["realm"] ?? []),
        password: Fixture.password
    )
    let nonce = view["nonce"] ?? []
    let clientNonce = view["cnonce"] ?? []
    let nonceCount = view["nc"] ?? []
    let qop = view["qop"] ?? Array("auth".utf8)
    let uri = view["digest-uri"] ?? []
    var a1 = secret + colon + nonce + colon + clientNonce
    if let authzid = view["authzid"] { a1 += colon + authzid }
    let hashedA1 = hex(md5.digest(a1))
    func kd(_ a2: [UInt8]) -> [UInt8] {
        hex(
            md5.digest(
                hashedA1 + colon + nonce + colon + nonceCount + colon + clientNonce + colon + qop + colon
                    + hex(md5.digest(a2))
            )
        )
    }
    return (kd(Array("AUTHENTICATE:".utf8) + uri), kd(colon + uri))
}

@_cdecl("FuzzDigestMD5_main")
public func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv) { data, size in
        guard let data else { return withUnsafePointer(to: UInt8(0)) { fuzz($0, 0) } }
        return fuzz(data, size)
    }
}
