// SCRAM's first message for names known and unknown (RFC 5802 section 5.1): the input is `name [0xFF nonce]`, sent as
// `n,,n=<name with , and = escaped>,r=<nonce>` to SCRAM-SHA-256 and SCRAM-SHA-1.
//
// Invariant: the server-first message tells nothing of whether the name exists. Every name, stored or not, gets the
// configured iteration count and a salt of the same length; a name gets the same salt every time (a random one
// would tell an unknown name at the second try); the server nonce extends the client's.
import FuzzSupport
import SASLDB
import SASLMechanisms

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let parts = messages(inputBytes(data, size), maxCount: 2)
    let name = parts[0]
    let nonce = parts.count > 1 && !parts[1].isEmpty ? printable(parts[1]) : Array("fuzz-nonce".utf8)
    let clientFirst = Array("n,,n=".utf8) + escaped(name) + Array(",r=".utf8) + nonce
    for mechanism in ["SCRAM-SHA-256", "SCRAM-SHA-1"] {
        guard let first = serverFirst(mechanism, clientFirst) else { continue }
        require(
            first.iterations == Fixture.scramIterations,
            "\(mechanism) answered \(first.iterations) iterations, not the configured \(Fixture.scramIterations)"
        )
        require(first.salt.count == 16, "\(mechanism) answered a salt of \(first.salt.count) bytes, not 16")
        require(first.nonce.starts(with: nonce), "\(mechanism)'s nonce does not extend the client's")
        require(first.nonce.count > nonce.count, "\(mechanism) added no nonce of its own")
        let again = serverFirst(mechanism, clientFirst)
        require(again?.salt == first.salt, "\(mechanism) answered the same name with another salt")
    }
    return 0
}

/// The server-first message for `clientFirst`, `nil` when the mechanism refused it.
private func serverFirst(_ name: String, _ clientFirst: [UInt8]) -> ServerFirst? {
    var mechanism = makeMechanism(name)
    require(step(&mechanism, nil, name: name) == .challenge([]), "\(name) did not ask for the client-first message")
    let outcome = step(&mechanism, clientFirst, name: name)
    guard case .challenge(let message) = outcome else {
        require(identity(of: outcome) == nil, "\(name) succeeded after the client-first message")
        return nil
    }
    guard let parsed = ServerFirst(message) else {
        require(false, "\(name) sent a malformed server-first message")
        return nil
    }
    return parsed
}

/// `,` and `=` written as `=2C` and `=3D`, as a client writes a name.
private func escaped(_ name: [UInt8]) -> [UInt8] {
    name.flatMap { byte -> [UInt8] in
        switch byte {
        case UInt8(ascii: ","): return Array("=2C".utf8)
        case UInt8(ascii: "="): return Array("=3D".utf8)
        default: return [byte]
        }
    }
}

/// The printable ASCII of `bytes` other than `,`, as a nonce must be.
private func printable(_ bytes: [UInt8]) -> [UInt8] {
    let kept = bytes.filter { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ",") }
    return kept.isEmpty ? Array("fuzz-nonce".utf8) : kept
}

@_cdecl("FuzzSCRAMFirst_main")
public func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv) { data, size in
        guard let data else { return withUnsafePointer(to: UInt8(0)) { fuzz($0, 0) } }
        return fuzz(data, size)
    }
}
