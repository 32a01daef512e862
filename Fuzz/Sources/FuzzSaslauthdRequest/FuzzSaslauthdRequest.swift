// The saslauthd request parser and the check behind it.
//
// The first input byte picks the size of the chunks the rest arrives in (1 to 16 bytes), as reads of a socket would
// cut it. Invariants: the parser decides exactly once and then only answers `finished`; a request's strings are the
// counted strings at the start of the input, within their limits; a refusal names a field whose length prefix is over
// its limit; the check accepts only the password `pw` of a genuine user.
import AuthService
import FuzzSupport
import SASLDB
import SASLMechanisms

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = inputBytes(data, size)
    guard let first = input.first else { return 0 }
    let chunk = Int(first % 16) + 1
    let body = Array(input.dropFirst())
    let limits = SaslauthdRequestParser.Limits()
    var parser = SaslauthdRequestParser(limits: limits)
    var decided: SaslauthdRequestParser.Outcome?
    for start in stride(from: 0, to: body.count, by: chunk) {
        let outcome = parser.receive(body[start..<min(start + chunk, body.count)])
        if decided != nil {
            require(outcome == .finished, "the parser answered again after deciding")
        } else if outcome != .needMoreBytes {
            decided = outcome
        }
    }
    switch decided {
    case .request(let request):
        let fields = [request.login, request.password, request.service, request.realm]
        var offset = 0
        for (index, field) in fields.enumerated() {
            let length = Int(body[offset]) << 8 | Int(body[offset + 1])
            require(length == field.count, "field \(index) has the wrong length")
            require(Array(body[(offset + 2)..<(offset + 2 + length)]) == field, "field \(index) has the wrong bytes")
            offset += 2 + length
        }
        require(request.login.count <= limits.login && request.password.count <= limits.password, "over a limit")
        let verdict = SaslauthdAuthenticator.check(request, context: Fixture.context)
        if case .accepted(let user) = verdict {
            require(request.password == Fixture.password, "saslauthd accepted a wrong password")
            require(Fixture.genuine.contains(user), "saslauthd accepted \(user), who may not log in")
        }
    case .tooLong(let field):
        require(field != .clientAddress, "the optional fifth string refused a request")
    case .needMoreBytes, .finished:
        require(false, "the parser gave a non-decision as its decision")
    case nil:
        break
    }
    return 0
}

@_cdecl("FuzzSaslauthdRequest_main")
public func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv) { data, size in
        guard let data else { return withUnsafePointer(to: UInt8(0)) { fuzz($0, 0) } }
        return fuzz(data, size)
    }
}
