// SCRAM (RFC 5802, RFC 7677): the input is `client-first [0xFF client-final [0xFF final-response]]`, fed as the
// successive responses after the server's empty first challenge, to SCRAM-SHA-256, SCRAM-SHA-256-PLUS (with two
// channel bindings offered) and SCRAM-SHA-1 (as if -PLUS were offered too, so a client's `y` is a downgrade).
//
// In the client-final message `%N` becomes the server's combined nonce, `%C` the base64 of the client-first GS2
// header (plus the binding data for `p=<type>`) and `%D` the proof a client knowing `pw` computes, so the fuzzer gets
// past the nonce and proof checks to authorization, the server signature and the final response.
// Invariants: the server signature only after a proof computed from the password, and equal to the one computed
// here; success only for a genuine user; nothing accepted after the end.
import FuzzSupport
import SASLDB
import SASLMechanisms

private struct Variant {
    var name: String
    var hash: FuzzHash
    var bindings: [SCRAMChannelBinding]
}

private let offeredBindings = [
    SCRAMChannelBinding.tlsExporter([UInt8](repeating: 0xA5, count: 32)),
    SCRAMChannelBinding.tlsServerEndPoint(Array(0..<32)),
]

private let variants = [
    Variant(name: "SCRAM-SHA-256", hash: .sha256, bindings: []),
    Variant(name: "SCRAM-SHA-256-PLUS", hash: .sha256, bindings: offeredBindings),
    Variant(name: "SCRAM-SHA-1", hash: .sha1, bindings: offeredBindings),
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let parts = messages(inputBytes(data, size), maxCount: 3)
    for variant in variants { exchange(variant, parts) }
    return 0
}

private func exchange(_ variant: Variant, _ parts: [[UInt8]]) {
    var mechanism = makeMechanism(variant.name, channelBindings: variant.bindings)
    require(
        step(&mechanism, nil, name: variant.name) == .challenge([]),
        "\(variant.name) did not ask for the client-first message"
    )

    let clientFirst = parts[0]
    var outcome = step(&mechanism, clientFirst, name: variant.name)
    guard case .challenge(let serverFirst) = outcome else {
        require(identity(of: outcome) == nil, "\(variant.name) succeeded after the client-first message")
        checkFinished(mechanism, name: variant.name)
        return
    }
    guard let server = ServerFirst(serverFirst) else {
        require(false, "\(variant.name) sent a malformed server-first message")
        return
    }
    guard parts.count > 1 else { return }

    // The GS2 header is everything up to the second comma; the bare message follows it.
    let commas = clientFirst.indices.filter { clientFirst[$0] == UInt8(ascii: ",") }
    let headerEnd = commas.count >= 2 ? commas[1] + 1 : clientFirst.count
    let gs2Header = Array(clientFirst[..<headerEnd])
    let clientFirstBare = Array(clientFirst[headerEnd...])
    var bindingData: [UInt8] = []
    if clientFirst.starts(with: Array("p=".utf8)), let first = commas.first {
        let type = String(decoding: clientFirst[2..<first], as: UTF8.self)
        bindingData = variant.bindings.first { $0.type == type }?.data ?? []
    }

    var clientFinal = replacing(Placeholder.nonce, with: server.nonce, in: parts[1])
    clientFinal = replacing(Placeholder.channelBinding, with: base64(gs2Header + bindingData), in: clientFinal)
    var expectedSignature: [UInt8]?
    if let proofStart = firstIndex(of: Placeholder.digest, in: clientFinal) {
        var withoutProof = Array(clientFinal[..<proofStart])
        if withoutProof.count >= 3, withoutProof.suffix(3).elementsEqual(",p=".utf8) { withoutProof.removeLast(3) }
        let authMessage = clientFirstBare + [UInt8(ascii: ",")] + serverFirst + [UInt8(ascii: ",")] + withoutProof
        let hash = variant.hash
        let salted = hash.pbkdf2(password: Fixture.password, salt: server.salt, iterations: server.iterations)
        let clientKey = hash.hmac(key: salted, Array("Client Key".utf8))
        let signature = hash.hmac(key: hash.digest(clientKey), authMessage)
        let proof = zip(clientKey, signature).map { $0 ^ $1 }
        let serverKey = hash.hmac(key: salted, Array("Server Key".utf8))
        expectedSignature = Array("v=".utf8) + base64(hash.hmac(key: serverKey, authMessage))
        clientFinal = replacing(Placeholder.digest, with: base64(proof), in: clientFinal)
    }

    outcome = step(&mechanism, clientFinal, name: variant.name)
    guard case .challenge(let serverFinal) = outcome else {
        require(identity(of: outcome) == nil, "\(variant.name) succeeded without sending its signature")
        checkFinished(mechanism, name: variant.name)
        return
    }
    guard let expectedSignature else {
        require(false, "\(variant.name) accepted a proof not computed from the password")
        return
    }
    require(serverFinal == expectedSignature, "\(variant.name) sent a wrong server signature")
    guard parts.count > 2 else { return }

    outcome = step(&mechanism, parts[2], name: variant.name)
    require(isTerminal(outcome), "\(variant.name) asked for more after its signature")
    if let identity = identity(of: outcome) {
        require(parts[2].isEmpty, "\(variant.name) accepted a non-empty final response")
        checkIdentity(identity, mechanism: variant.name)
    }
    checkFinished(mechanism, name: variant.name)
}

/// The server-first message `r=<nonce>,s=<salt>,i=<count>`, read strictly: the server made it.
@_cdecl("FuzzSCRAM_main")
public func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv) { data, size in
        guard let data else { return withUnsafePointer(to: UInt8(0)) { fuzz($0, 0) } }
        return fuzz(data, size)
    }
}
