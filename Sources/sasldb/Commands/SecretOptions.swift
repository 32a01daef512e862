import ArgumentParser
import SASLDB

/// Which secrets a command that sets passwords writes; the site configuration decides when no option is given.
struct SecretOptions: ParsableArguments {
    @Flag(
        help: """
            Store no plaintext: write the CRAM-MD5, DIGEST-MD5 and SCRAM-SHA-256 verifiers only, and remove any \
            old userPassword (Cyrus would keep using it). Cyrus's own PLAIN, LOGIN and saslauthd then cannot check \
            the user (our SMTP server can); see sasldb(8), SECRETS.
            """
    )
    var noPlaintext = false

    @Option(
        help: ArgumentHelp(
            """
            The secrets to write, comma-separated from: plain, cram-md5, digest-md5, scram-sha-1, scram-sha-256 \
            (default: the site configuration's, else plain, as Cyrus).
            """,
            valueName: "list"
        )
    )
    var secrets: String?

    @Option(help: ArgumentHelp("PBKDF2 iterations of new SCRAM verifiers (1-65536, default 4096).", valueName: "count"))
    var scramIterations: Int?

    func validate() throws {
        do {
            _ = try policy()
        } catch let error as SASLDBError {
            throw ValidationError(error.description)
        }
    }

    /// The policy these options describe, over the site configuration's.
    func policy() throws -> SecretPolicy {
        if noPlaintext && secrets != nil {
            throw SASLDBError.invalidValue("give either --no-plaintext or --secrets, not both")
        }
        var policy = SiteConfig.current.store.secretPolicy
        if noPlaintext { policy = .noPlaintext }
        if let secrets { policy = try SecretPolicy(parsingList: secrets) }
        if let scramIterations { policy.scramIterations = scramIterations }
        try policy.validate()
        return policy
    }
}
