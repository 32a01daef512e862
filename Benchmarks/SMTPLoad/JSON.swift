import SASLDB

/// The little JSON this tool writes.
enum JSON {
    static func string(_ text: String) -> String { jsonString(text) }

    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        return String((value * 1000).rounded() / 1000)
    }
}
