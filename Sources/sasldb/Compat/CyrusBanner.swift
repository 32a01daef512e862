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
}
