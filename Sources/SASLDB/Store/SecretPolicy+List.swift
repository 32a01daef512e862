extension SecretPolicy {
    /// Parses a comma-separated list of secret names: plain, cram-md5, digest-md5, scram-sha-1, scram-sha-256 (the
    /// `secrets` setting and `sasldb --secrets`); the iteration count stays at its default.
    ///
    /// - Throws: ``SASLDBError/invalidValue(_:)`` for an unknown name or two SCRAM hashes.
    public init(parsingList list: String) throws(SASLDBError) {
        self.init(plaintext: false)
        for name in list.split(separator: ",").map({ $0.trimmingBlanks().lowercased() }) {
            switch name {
            case "plain", "plaintext", "userpassword": plaintext = true
            case "cram-md5": cramMD5 = true
            case "digest-md5": digestMD5 = true
            case "scram-sha-1", "scram-sha-256":
                guard scram == nil else {
                    throw .invalidValue("sasldb holds one SCRAM verifier per user: choose one SCRAM hash")
                }
                scram = name == "scram-sha-1" ? .sha1 : .sha256
            default:
                throw .invalidValue(
                    "unknown secret '\(name)' (use plain, cram-md5, digest-md5, scram-sha-1, scram-sha-256)"
                )
            }
        }
    }
}
