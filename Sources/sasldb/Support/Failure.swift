import ArgumentParser
import SASLDB

/// An error a native command reports as one sentence on standard error and a documented exit code.
protocol CommandFailure: Error, CustomStringConvertible {
    /// The exit code, documented in sasldb(8).
    var exitCode: Int32 { get }
}

/// Runs `body`, turning a ``CommandFailure`` into a message on standard error and its exit code.
func reportingErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as any CommandFailure {
        Output.error("sasldb: \(error)\n")
        throw ExitCode(error.exitCode)
    }
}

extension SASLDBError: CommandFailure {
    /// The sysexits(3) code for this error, documented in sasldb(8).
    var exitCode: Int32 {
        switch self {
        case .fileNotFound: return 66  // EX_NOINPUT
        case .notADatabase, .corrupt, .malformedKey, .invalidInput, .invalidName, .invalidPassword, .invalidValue:
            return 65  // EX_DATAERR
        case .permissionDenied, .loginRefused: return 77  // EX_NOPERM
        case .insecureFile, .schemaVersion: return 78  // EX_CONFIG
        case .busy, .unavailable: return 75  // EX_TEMPFAIL
        case .io, .backend: return 74  // EX_IOERR
        }
    }
}
