import SASLMechanisms

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether `FUZZ_TRACE` is set: the harnesses then print every message and outcome, to check what a seed reaches
/// (`FUZZ_TRACE=1 .build-fuzz/release/FuzzSCRAM Corpus/FuzzSCRAM/alice`).
public let tracing = getenv("FUZZ_TRACE") != nil

/// Prints one exchange step when tracing.
public func trace(_ mechanism: String, sent: [UInt8]?, got outcome: SASLStep) {
    guard tracing else { return }
    let shown = sent.map { String(decoding: $0, as: UTF8.self).debugDescription } ?? "nil"
    let result: String
    switch outcome {
    case .challenge(let bytes): result = "challenge \(String(decoding: bytes, as: UTF8.self).debugDescription)"
    case .success(let identity): result = "success \(identity)"
    case .failure(let failure): result = "failure \(failure)"
    }
    print("[\(mechanism)] \(shown) -> \(result)")
}

/// Steps `mechanism` with `response`, tracing the step.
public func step(_ mechanism: inout any SASLServerMechanism, _ response: [UInt8]?, name: String) -> SASLStep {
    let outcome = mechanism.step(response)
    trace(name, sent: response, got: outcome)
    return outcome
}
