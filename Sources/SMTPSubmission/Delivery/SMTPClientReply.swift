/// A reply an SMTP or LMTP server sent to ``SMTPClientConnection``: the code and the text of each line.
package struct SMTPClientReply: Sendable, Equatable, CustomStringConvertible {
    /// The three-digit code.
    package var code: Int
    /// The text of each line, after `250-` or `250 `.
    package var lines: [String]

    /// Creates a reply.
    package init(code: Int, lines: [String]) {
        self.code = code
        self.lines = lines
    }

    /// 2xx.
    package var isSuccess: Bool { (200..<300).contains(code) }
    /// 4xx: try again later.
    package var isTemporaryFailure: Bool { (400..<500).contains(code) }
    /// 5xx: do not try again.
    package var isPermanentFailure: Bool { (500..<600).contains(code) }

    /// The first line as the server wrote it, `250 2.0.0 Ok`.
    package var description: String { "\(code) \(lines.first ?? "")" }

    /// The keywords of an EHLO/LHLO reply (every line after the first), upper-cased, with their parameters.
    package var extensions: [String: String] {
        var result: [String: String] = [:]
        for line in lines.dropFirst() {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard let keyword = parts.first else { continue }
            result[keyword.uppercased()] = parts.count > 1 ? String(parts[1]) : ""
        }
        return result
    }
}
