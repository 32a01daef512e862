import ArgumentParser
import SASLDB

/// Which secrets a command that sets passwords writes.
struct SecretOptions: ParsableArguments {
    @Flag(
        help: """
            Store no plaintext: write the CRAM-MD5, DIGEST-MD5 and SCRAM-SHA-256 verifiers only, and remove any \
            old userPassword (Cyrus would keep using it).
            """
    )
    var noPlaintext = false

    @Option(
        help: ArgumentHelp(
            """
            The secrets to write, comma-separated from: plain, cram-md5, digest-md5, scram-sha-1, scram-sha-256 \
            (default: plain, as Cyrus).
            """,
            valueName: "list"
        )
    )
    var secrets: String?

    @Option(help: ArgumentHelp("PBKDF2 iterations of new SCRAM verifiers (1-65536).", valueName: "count"))
    var scramIterations: Int = SecretPolicy.defaultSCRAMIterations

    func validate() throws {
        _ = try policy()
    }

    /// The policy these options describe.
    func policy() throws -> SecretPolicy {
        if noPlaintext && secrets != nil {
            throw ValidationError("give either --no-plaintext or --secrets, not both")
        }
        var policy = noPlaintext ? SecretPolicy.noPlaintext : SecretPolicy.cyrusDefault
        if let secrets {
            policy = SecretPolicy(plaintext: false)
            for name in secrets.split(separator: ",").map({ $0.trimmingCharacters(" ").lowercased() }) {
                switch name {
                case "plain", "plaintext", "userpassword": policy.plaintext = true
                case "cram-md5": policy.cramMD5 = true
                case "digest-md5": policy.digestMD5 = true
                case "scram-sha-1", "scram-sha-256":
                    guard policy.scram == nil else {
                        throw ValidationError("sasldb holds one SCRAM verifier per user: choose one SCRAM hash")
                    }
                    policy.scram = name == "scram-sha-1" ? .sha1 : .sha256
                default:
                    throw ValidationError(
                        "unknown secret '\(name)' (use plain, cram-md5, digest-md5, scram-sha-1, scram-sha-256)"
                    )
                }
            }
        }
        policy.scramIterations = scramIterations
        do {
            try policy.validate()
        } catch let error as SASLDBError {
            throw ValidationError(error.description)
        }
        return policy
    }
}
