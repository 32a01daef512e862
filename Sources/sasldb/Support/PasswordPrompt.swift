import SASLDB

/// Reads a password the way every native command does: without echo on a terminal (twice when `confirm`), else one
/// line of standard input.
func readPassword(confirm: Bool, fromStandardInput: Bool) throws -> [UInt8] {
    let limit = CredentialStore.maximumPasswordLength
    if PasswordInput.isTerminal && !fromStandardInput {
        guard let first = PasswordInput.readHidden(prompt: "Password: ", promptFD: 2, limit: limit + 2) else {
            throw SASLDBError.invalidPassword("no password was entered")
        }
        if confirm {
            let second = PasswordInput.readHidden(prompt: "Again (for verification): ", promptFD: 2, limit: limit + 2)
            guard first == second else { throw SASLDBError.invalidPassword("the two passwords do not match") }
        }
        try CredentialStore.validate(password: first)
        return first
    }
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
