import SASLDB

/// Texts the Cyrus tools print, reproduced byte for byte because scripts match on them.
enum CyrusBanner {
    /// The attribution block both tools print before their usage and version lines.
    static let attribution = """

        This product includes software developed by Computing Services
        at Carnegie Mellon University (http://www.cmu.edu/computing/).


        """

    /// What `-v` prints after the attribution.
    static let versions = """
        Built against SASL API version 2.1.28
        LibSasl version 2.1.28 by "Cyrus SASL"

        """

    /// Prints what Debian's libdb prints on its own before Cyrus's message when the file is not a Berkeley DB file,
    /// so the personality's standard error matches Cyrus's byte for byte.
    static func printLibraryMessage(for error: SASLDBError) {
        guard case .notADatabase(let path, _) = error, DatabaseFormat.systemDefault == .berkeleyDB else {
            return
        }
        Output.error("BDB0004 fop_read_meta: \(path): unexpected file type or format\n")
    }
}
