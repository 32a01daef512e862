import ArgumentParser
import SASLDB

/// `sasldb list`: the users and what is stored for them.
struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the users with the secrets and other properties stored for them."
    )

    @OptionGroup var store: StoreOptions

    @Flag(help: "Print JSON: an array of {user, authid, realm, properties, disabled}.")
    var json = false

    func run() throws {
        let entries = try reportingErrors { try CredentialStore(backend: store.backend()).users() }
        var out = OutputBuffer()
        if json {
            ListCommand.writeJSON(entries, to: &out)
        } else {
            ListCommand.writeTable(entries, to: &out)
        }
        out.flush()
    }

    /// Writes bytes straight into the buffer: building a String per user was a quarter of listing 100,000 users.
    static func writeTable(_ entries: [UserEntry], to out: inout OutputBuffer) {
        // Width in characters, so names with multi-byte characters still line up.
        func width(_ bytes: [UInt8]) -> Int { bytes.reduce(0) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) } }
        let column = max(4, entries.map { width($0.user.authid) + 1 + width($0.user.realm) }.max() ?? 0)
        out.append("USER".padded(to: column) + "  PROPERTIES\n")
        let spaces = [UInt8](repeating: UInt8(ascii: " "), count: column + 2)
        for entry in entries {
            out.append(bytes: entry.user.authid)
            out.append(bytes: [UInt8(ascii: "@")])
            out.append(bytes: entry.user.realm)
            out.append(bytes: spaces[..<(column + 2 - width(entry.user.authid) - 1 - width(entry.user.realm))])
            for (index, property) in entry.properties.enumerated() {
                if index > 0 { out.append(bytes: [UInt8(ascii: " ")]) }
                out.append(bytes: property.bytes)
            }
            if entry.isDisabled { out.append("  (disabled)") }
            out.append(bytes: [UInt8(ascii: "\n")])
        }
    }

    static func writeJSON(_ entries: [UserEntry], to out: inout OutputBuffer) {
        out.append("[")
        for (index, entry) in entries.enumerated() {
            out.append(index == 0 ? "\n  " : ",\n  ")
            out.append("{\"user\": \(jsonString(entry.user.description)), ")
            out.append("\"authid\": \(jsonString(String(decoding: entry.user.authid, as: UTF8.self))), ")
            out.append("\"realm\": \(jsonString(String(decoding: entry.user.realm, as: UTF8.self))), ")
            out.append(
                "\"properties\": [" + entry.properties.map { jsonString($0.description) }.joined(separator: ", ")
            )
            out.append("], \"disabled\": \(entry.isDisabled)}")
        }
        out.append(entries.isEmpty ? "]\n" : "\n]\n")
    }
}

extension String {
    /// The string padded with spaces to `width` characters.
    func padded(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
