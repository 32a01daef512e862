import SASLDB

/// Reads a password the way every native command does: without echo on a terminal (twice when `confirm`), else one
/// line of standard input.
func readPassword(confirm: Bool, fromStandardInput: Bool) throws -> [UInt8] {
    guard PasswordInput.isTerminal && !fromStandardInput else { return try PasswordPrompt.line() }
    let first = try PasswordPrompt.hidden("Password: ")
    if confirm {
        let second = try PasswordPrompt.hidden("Again (for verification): ")
        guard first == second else { throw SASLDBError.invalidPassword("the two passwords do not match") }
    }
    try CredentialStore.validate(password: first)
    return first
}

/// The two ways a native command reads one password, shared by `add`, `verify` and `passwd`.
enum PasswordPrompt {
    /// Prompts on standard error and reads one answer from the terminal on standard input, without echo.
    ///
    /// - Throws: ``SASLDBError/invalidPassword(_:)`` when nothing could be read; the answer is not validated.
    static func hidden(_ prompt: String) throws -> [UInt8] {
        // Two bytes over the limit, so that a too-long answer is seen as too long rather than cut.
        let limit = CredentialStore.maximumPasswordLength + 2
        guard let answer = PasswordInput.readHidden(prompt: prompt, promptFD: 2, limit: limit) else {
            throw SASLDBError.invalidPassword("no password was entered")
        }
        return answer
    }

    /// Reads one line of standard input, without its line ending, and validates it as a password.
    ///
    /// - Throws: ``SASLDBError/invalidPassword(_:)`` at the end of input, for a line too long or a password no key
    ///   can hold.
    static func line() throws -> [UInt8] {
        let limit = CredentialStore.maximumPasswordLength
        switch PasswordInput.readLine(limit: limit) {
        case .line(let line):
            try CredentialStore.validate(password: line)
            return line
        case .end:
            throw SASLDBError.invalidPassword("standard input ended before a password was read")
        case .tooLong:
            throw SASLDBError.invalidPassword("the password is longer than \(limit) bytes")
        }
    }
}
