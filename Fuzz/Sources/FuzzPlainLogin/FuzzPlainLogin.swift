// PLAIN (RFC 4616) and LOGIN on the same input.
//
// PLAIN gets the whole input as its message, once as an initial response and once after the empty challenge.
// LOGIN gets the input cut at 0xFF into user name and password, once with the name as initial response and once
// after the "Username:" prompt. Invariant: a login succeeds only with the password `pw`, for a genuine user.
import FuzzSupport
import SASLDB
import SASLMechanisms

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = inputBytes(data, size)
    fuzzPlain(input)
    fuzzLogin(input)
    return 0
}

private func fuzzPlain(_ message: [UInt8]) {
    for initialResponse in [true, false] {
        var mechanism = makeMechanism("PLAIN")
        if !initialResponse {
            require(
                step(&mechanism, nil, name: "PLAIN") == .challenge([]),
                "PLAIN did not answer a missing response with []"
            )
        }
        let outcome = step(&mechanism, message, name: "PLAIN")
        require(isTerminal(outcome), "PLAIN asked for more after the message")
        if let identity = identity(of: outcome) {
            let parts = message.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
            require(parts.count == 3 && Array(parts[2]) == Fixture.password, "PLAIN accepted a wrong password")
            checkIdentity(identity, mechanism: "PLAIN")
        }
        checkFinished(mechanism, name: "PLAIN")
    }
}

private func fuzzLogin(_ input: [UInt8]) {
    let parts = messages(input, maxCount: 2)
    for initialResponse in [true, false] {
        var mechanism = makeMechanism("LOGIN")
        if !initialResponse {
            require(
                step(&mechanism, nil, name: "LOGIN") == .challenge(Array("Username:".utf8)),
                "LOGIN did not prompt for the name"
            )
        }
        var outcome = step(&mechanism, parts[0], name: "LOGIN")
        if case .challenge(let prompt) = outcome {
            require(prompt == Array("Password:".utf8), "LOGIN sent an unexpected prompt")
            guard parts.count > 1 else { continue }
            outcome = step(&mechanism, parts[1], name: "LOGIN")
            require(isTerminal(outcome), "LOGIN asked for more after the password")
            if let identity = identity(of: outcome) {
                require(parts[1] == Fixture.password, "LOGIN accepted a wrong password")
                checkIdentity(identity, mechanism: "LOGIN")
            }
        }
        require(identity(of: outcome) == nil || parts.count > 1, "LOGIN logged in without a password")
        checkFinished(mechanism, name: "LOGIN")
    }
}

@_cdecl("FuzzPlainLogin_main")
public func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv) { data, size in
        guard let data else { return withUnsafePointer(to: UInt8(0)) { fuzz($0, 0) } }
        return fuzz(data, size)
    }
}
