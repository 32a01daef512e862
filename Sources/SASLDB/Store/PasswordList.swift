/// The `user@realm:password` text that `import` reads, one user per line.
public enum PasswordList {
    /// Parses `text`: each non-empty line is a name, a colon, and the password (the rest of the line, which may hold
    /// colons and spaces); `#` starts a comment line; a `\r` before the `\n` is dropped.
    ///
    /// - Throws: ``SASLDBError/invalidInput(line:reason:)`` naming the first bad line; no password is ever quoted.
    public static func parse(_ text: [UInt8], defaultRealm: String) throws -> [(user: UserID, password: [UInt8])] {
        var entries: [(user: UserID, password: [UInt8])] = []
        var seen: [UserID: Int] = [:]
        for (index, rawLine) in text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            .enumerated()
        {
            let number = index + 1
            var line = rawLine
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            if line.isEmpty || line.first == UInt8(ascii: "#") { continue }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
                throw SASLDBError.invalidInput(line: number, reason: "expected user@realm:password")
            }
            let name = String(decoding: line[..<colon], as: UTF8.self)
            guard String(validating: line[..<colon], as: UTF8.self) != nil else {
                throw SASLDBError.invalidInput(line: number, reason: "the user name is not valid UTF-8")
            }
            let user: UserID
            do {
                user = try UserID(parsing: name, defaultRealm: defaultRealm)
            } catch let error as SASLDBError {
                throw SASLDBError.invalidInput(line: number, reason: error.description)
            }
            let password = Array(line[(colon + 1)...])
            do {
                try CredentialStore.validate(password: password)
            } catch let error as SASLDBError {
                throw SASLDBError.invalidInput(line: number, reason: error.description)
            }
            if let first = seen[user] {
                throw SASLDBError.invalidInput(line: number, reason: "\(user) was already given on line \(first)")
            }
            seen[user] = number
            entries.append((user, password))
        }
        return entries
    }
}
