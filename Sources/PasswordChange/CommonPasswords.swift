import SASLDB

/// A list of passwords attackers try first, compared without regard to case.
///
/// The built-in list is small on purpose (it ships in every binary); a site points `password_common_list` at a
/// larger file, one password per line, such as the lists published from breach corpora.
public struct CommonPasswords: Sendable {
    private let folded: Set<String>

    /// The passwords shipped with sasldb.
    public static let builtin = CommonPasswords(lines: builtinCommonPasswords.split(separator: "\n").map(String.init))

    /// Creates a list from its entries; blank lines and lines starting with `#` are skipped.
    public init(lines: some Sequence<String>) {
        var folded = Set<String>()
        for line in lines {
            if line.isEmpty || line.hasPrefix("#") { continue }
            folded.insert(CommonPasswords.fold(line))
        }
        self.folded = folded
    }

    private init(folded: Set<String>) {
        self.folded = folded
    }

    /// Reads a list file and adds the built-in entries to it.
    ///
    /// - Throws: ``PasswordChangeError/invalidConfiguration(_:)`` when the file cannot be read or is not UTF-8.
    public static func load(path: String) throws(PasswordChangeError) -> CommonPasswords {
        let bytes: [UInt8]
        do {
            bytes = try InputFile.read(path)
        } catch {
            throw .invalidConfiguration("password_common_list: \(error)")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .invalidConfiguration("password_common_list: \(path) is not UTF-8 text")
        }
        // Splitting at Character.isNewline takes CRLF (one Character in Swift) as well as LF.
        let lines = text.split(whereSeparator: \.isNewline).map(String.init)
        return CommonPasswords(folded: CommonPasswords(lines: lines).folded.union(builtin.folded))
    }

    /// How many entries the list holds.
    public var count: Int { folded.count }

    /// Whether `password` is on the list, whatever its case.
    public func contains(_ password: String) -> Bool { folded.contains(CommonPasswords.fold(password)) }

    func contains(folded password: String) -> Bool { folded.contains(password) }

    /// The form entries are compared in: lowercased, so `Password1` matches `password1`.
    static func fold(_ text: String) -> String { text.lowercased() }
}
