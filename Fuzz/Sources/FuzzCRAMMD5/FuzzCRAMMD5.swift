// CRAM-MD5 (RFC 2195): the input is the client's answer `user SP digest`; `%D` in it is replaced by the right digest,
// HMAC-MD5("pw", challenge) in hex, so that the fuzzer reaches the user lookup and the comparison.
// Invariants: success only for a genuine user and only with the computed digest; an initial response is refused.
import FuzzSupport
import SASLDB
import SASLMechanisms

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = inputBytes(data, size)

    var mechanism = makeMechanism("CRAM-MD5")
    guard case .challenge(let challenge) = step(&mechanism, nil, name: "CRAM-MD5") else {
        require(false, "CRAM-MD5 did not start with a challenge")
        return 0
    }
    let digest = hex(FuzzHash.md5.hmac(key: Fixture.password, challenge))
    let answer = replacing(Placeholder.digest, with: digest, in: input)
    let outcome = step(&mechanism, answer, name: "CRAM-MD5")
    require(isTerminal(outcome), "CRAM-MD5 asked for more after the answer")
    if let identity = identity(of: outcome) {
        require(contains(input, Placeholder.digest), "CRAM-MD5 accepted a digest not computed from the password")
        checkIdentity(identity, mechanism: "CRAM-MD5")
    }
    checkFinished(mechanism, name: "CRAM-MD5")

    // The server speaks first: an initial response is a protocol error, whatever it holds.
    var initial = makeMechanism("CRAM-MD5")
    if case .failure = initial.step(answer) {} else { require(false, "CRAM-MD5 took an initial response") }
    return 0
}

@_cdecl("FuzzCRAMMD5_main")
public func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv) { data, size in
        guard let data else { return withUnsafePointer(to: UInt8(0)) { fuzz($0, 0) } }
        return fuzz(data, size)
    }
}
