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

    static func writeTable(_ entries: [UserEntry], to out: inout OutputBuffer) {
        let names = entries.map(\.user.description)
        let width = max(4, names.map(\.count).max() ?? 0)
        out.append("USER".padded(to: width) + "  PROPERTIES\n")
        for (name, entry) in zip(names, entries) {
            let properties = entry.properties.map(\.description).joined(separator: " ")
            out.append(name.padded(to: width) + "  " + properties + (entry.isDisabled ? "  (disabled)" : "") + "\n")
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

/// `text` as a JSON string literal (RFC 8259 escapes).
func jsonString(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

extension String {
    /// The string padded with spaces to `width` characters.
    func padded(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
