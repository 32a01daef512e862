import Foundation

/// What Roundcube's `poppassd` password driver (plugins/password/drivers/poppassd.php) does, byte for byte: PEAR
/// `Net_Socket::writeLine` ends lines with CRLF, `readLine` reads to LF; the greeting must be `2xx`, the replies to
/// `user` and `pass` `2xx` or `3xx`, the reply to `newpass` `2xx`; it never sends `quit`. A failure carries the text
/// after the code, which Roundcube shows to the user.
enum RoundcubeDriver {
    enum Outcome: Equatable {
        case success
        case error(String)
    }

    static func save(port: Int, source: String? = nil, user: String, current: String, new: String) throws -> Outcome {
        let client = try LineClient(port: port, source: source)
        guard let greeting = try client.readLine(), greeting.range(of: #"^2\d\d"#, options: .regularExpression) != nil
        else { return .error("greeting") }
        try client.writeLine("user " + user)
        guard let afterUser = try client.readLine(), matches(afterUser, #"^[23]\d\d"#) else {
            return .error("user")
        }
        try client.writeLine("pass " + current)
        guard let afterPass = try client.readLine(), matches(afterPass, #"^[23]\d\d"#) else {
            return .error("pass")
        }
        try client.writeLine("newpass " + new)
        let result = try client.readLine() ?? ""
        if matches(result, #"^2\d\d"#) { return .success }
        // format_error_result: /^\d\d\d\s+(\S.*)\s*$/
        return .error(result.count > 4 ? String(result.dropFirst(4)) : result)
    }

    private static func matches(_ line: String, _ pattern: String) -> Bool {
        line.range(of: pattern, options: .regularExpression) != nil
    }
}

/// One SMTP session that authenticates with AUTH PLAIN over a plain listener and quits.
enum SMTPPlainLogin {
    /// The reply code to AUTH: 235 accepted, 535 refused.
    static func authenticate(port: Int, user: String, password: String) throws -> Int {
        let client = try LineClient(port: port)
        guard let greeting = try client.readLine(), greeting.hasPrefix("220") else {
            throw LineClient.Failure(description: "no greeting")
        }
        try client.writeLine("EHLO client.example.org")
        while let line = try client.readLine() {
            if line.hasPrefix("250 ") { break }
            guard line.hasPrefix("250-") else { throw LineClient.Failure(description: "EHLO: \(line)") }
        }
        let response = Data(([0] + Array(user.utf8) + [0] + Array(password.utf8))).base64EncodedString()
        try client.writeLine("AUTH PLAIN " + response)
        guard let reply = try client.readLine(), let code = Int(reply.prefix(3)) else {
            throw LineClient.Failure(description: "no reply to AUTH")
        }
        try? client.writeLine("QUIT")
        return code
    }
}

/// Runs a program to its end, feeding it `input` (small enough for a pipe buffer), and returns its status and its
/// output and errors together.
func runProcess(
    _ executable: String,
    _ arguments: [String],
    input: Data? = nil,
    environment: [String: String] = [:]
) -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if !environment.isEmpty {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    let inputPipe = Pipe()
    process.standardInput = inputPipe
    do {
        try process.run()
    } catch {
        return (-1, "\(error)")
    }
    if let input { inputPipe.fileHandleForWriting.write(input) }
    try? inputPipe.fileHandleForWriting.close()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
