// The parsers of single record parts: RecordKey(bytes:) (a database key), SCRAMVerifier(bytes:) / (parsing:) (an
// `authPassword` value), UserID(parsing:defaultRealm:) (a login name), and the fixed-size secret wrappers.
// Invariants: a parsed key re-serialises to the same bytes; a parsed verifier re-serialises to text that parses to
// the same verifier; a parsed user is valid.
import FuzzSupport
import SASLDB

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = inputBytes(data, size)

    let nulCount = input.lazy.filter { $0 == 0 }.count
    if let key = RecordKey(bytes: input) {
        require(key.bytes == input, "RecordKey does not round-trip")
        require(key.user == UserID(authid: key.authid, realm: key.realm), "RecordKey user mismatch")
    } else {
        require(nulCount != 2, "RecordKey refused a key with exactly two NUL bytes")
    }

    if let verifier = SCRAMVerifier(bytes: input) {
        require((1...SCRAMVerifier.maximumIterations).contains(verifier.iterations), "iteration count out of range")
        require(!verifier.salt.isEmpty, "empty salt accepted")
        let reparsed = SCRAMVerifier(bytes: verifier.bytes)
        require(reparsed?.text == verifier.text, "SCRAMVerifier does not round-trip: \(verifier.text)")
        require(SCRAMVerifier(parsing: verifier.text)?.text == verifier.text, "SCRAMVerifier(parsing:) disagrees")
    }
    if let text = String(validating: input, as: UTF8.self) {
        require(
            SCRAMVerifier(parsing: text)?.text == SCRAMVerifier(bytes: input)?.text,
            "SCRAMVerifier(parsing:) and (bytes:) disagree"
        )
        if let user = try? UserID(parsing: text, defaultRealm: "example.org") {
            require((try? user.validate()) != nil, "UserID(parsing:) returned an invalid user")
            require(RecordKey(bytes: RecordKey(user: user, property: .userPassword).bytes)?.user == user, "key of user")
        }
    }

    if let state = CRAMMD5State(bytes: input) { _ = state.hmac(challenge: input) }
    _ = DigestMD5Secret(bytes: input)
    if let secret = PlainSecret(bytes: input) { _ = secret.verify(password: Array("pw".utf8)) }
    return 0
}

@_cdecl("FuzzRecords_main")
public func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv) { data, size in
        guard let data else { return withUnsafePointer(to: UInt8(0)) { fuzz($0, 0) } }
        return fuzz(data, size)
    }
}
