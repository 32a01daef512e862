import ArgumentParser
import Logging

/// Logs why a subcommand that serves stopped, as critical, and turns it into exit status 1: a configuration error by
/// its message, anything else by its description.
func logCriticalFailure(_ error: any Error, to logger: Logger) -> ExitCode {
    if let error = error as? ConfigurationError {
        logger.critical("cannot serve", metadata: ["detail": .string(error.message)])
    } else {
        logger.critical("stopped on error", metadata: ["detail": .string("\(error)")])
    }
    return ExitCode.failure
}
