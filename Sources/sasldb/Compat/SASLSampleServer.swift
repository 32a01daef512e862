import SASLDB
import SASLMechanisms

/// A stand-in for Cyrus's `sasl-sample-server` running our mechanisms, so Cyrus's own `sasl-sample-client` (and the
/// harness that drives the pair) can test them: the same flags and the same `S:`/`C:` base64 line protocol.
///
/// Reached as `sasldb sasl-sample-server ...` or through a symlink of that name; a test tool, not for production.
struct SASLSampleServer {
    let program: String
    let arguments: [String]

    func run() -> Int32 {
        let parsed: GetOpt
        do {
            parsed = try GetOpt(arguments, spec: "m:s:d:u:f:p:h")
        } catch {
            Output.error("\(program): \(error.message)\n")
            return 1
        }
        var mechanism: String?
        var host = "localhost"
        var realm: String?
        var database: String?
        var service = "rcmd"
        for option in parsed.options {
            switch option.letter {
            case "m": mechanism = option.argument
            case "s": service = option.argument ?? service
            case "d": host = option.argument ?? host
            case "u": realm = option.argument
            case "f": database = option.argument
            default: break
            }
        }
        guard let mechanism else { return fail("no mechanism given (-m)") }
        let config = (try? CyrusConfig.load(appName: "sample")) ?? CyrusConfig()
        let path = database ?? config["sasldb_path"] ?? "/etc/sasldb2"
        let context = SASLServerContext(
            lookup: StoreFactory.makeStore(StoreConfiguration.file(path)),
            hostName: host,
            service: service,
            defaultRealm: realm.flatMap { $0.isEmpty ? nil : $0 } ?? host
        )
        guard var exchange = SASLMechanismFactory.make(mechanism, context: context) else {
            return fail("Starting SASL negotiation: no mechanism available (no mechanism available)")
        }
        Output.standard("Forcing use of mechanism \(mechanism)\nSending list of 1 mechanism(s)\n")
        Output.standard("S: \(Base64.encode(Array(mechanism.utf8)))\nWaiting for client mechanism...\n")
        guard let choice = readClientLine() else { return fail("no client mechanism") }
        var response: [UInt8]?
        if let nul = choice.firstIndex(of: 0) {
            guard String(decoding: choice[..<nul], as: UTF8.self).uppercased() == mechanism.uppercased() else {
                return fail("Client chose another mechanism")
            }
            response = Array(choice[(nul + 1)...])
        } else {
            response = nil
        }
        while true {
            switch exchange.step(response) {
            case .challenge(let bytes):
                Output.standard("S: \(Base64.encode(bytes))\nWaiting for client reply...\n")
                guard let next = readClientLine() else { return fail("the client went away") }
                response = next
            case .success(let identity):
                Output.standard("Negotiation complete\nUsername: \(identity.user)\n")
                return 0
            case .failure(let failure):
                let reason = SASLSampleServer.cyrusReason(failure)
                return fail("Performing SASL negotiation: \(reason) (\(reason))")
            }
        }
    }

    /// Cyrus's error strings for our failures, as the harness matches them.
    static func cyrusReason(_ failure: SASLFailure) -> String {
        switch failure {
        case .authenticationFailed: return "authentication failure"
        case .authorizationDenied: return "authorization failure"
        case .temporary: return "generic failure"
        case .cancelled, .malformed, .tooLong: return "bad protocol / cancel"
        }
    }

    /// Reads one `C: <base64>` line and decodes it; `nil` at end of input or on bad base64.
    private func readClientLine() -> [UInt8]? {
        guard case .line(let line) = PasswordInput.readLine(limit: 65536) else { return nil }
        let text = String(decoding: line, as: UTF8.self)
        guard text.hasPrefix("C:") else { return nil }
        let payload = text.dropFirst(2).drop(while: { $0 == " " })
        return Base64.decode(payload)
    }

    private func fail(_ message: String) -> Int32 {
        Output.error("\(program): \(message)\n")
        return 1
    }
}
