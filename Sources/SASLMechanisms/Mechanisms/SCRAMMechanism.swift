import SASLDB

/// The server side of a SCRAM mechanism (RFC 5802, RFC 7677) for one authentication attempt.
///
/// The exchange is: client-first (`gs2-header n=user,r=cnonce`) → challenge `r=nonce,s=salt,i=count` → client-final
/// (`c=…,r=nonce,p=proof`) → challenge `v=signature` → the client's empty response → success.
///
/// Secrets are chosen as Cyrus does: a `userPassword` wins (the server derives a salt that is stable per user and per
/// process); otherwise an `authPassword` verifier of this mechanism's hash; otherwise (unknown user, disabled user, a
/// verifier of another hash) the exchange runs to the end against a fake salt and fake keys and fails exactly like a
/// wrong password, after the same amount of work.
///
/// Every client message is bounded by ``maximumMessageLength``; names and passwords are prepared with SASLprep.
///
/// The exchange itself is `SCRAMServerExchange`, shared by every variant; the client's messages are parsed by
/// `SCRAMClientFirstMessage` and `SCRAMClientFinalMessage`, and ``SCRAMChannelBinding`` is what `-PLUS` checks.
public struct SCRAMMechanism<Variant: SCRAMVariant>: SASLServerMechanism {
    /// `SCRAM-SHA-1`, `SCRAM-SHA-256`, or either with `-PLUS`.
    public static var name: String {
        Variant.hash.mechanismName + (Variant.usesChannelBinding ? "-PLUS" : "")
    }

    /// The longest client message accepted, in bytes; longer ones fail with ``SASLFailure/tooLong(limit:)``.
    ///
    /// A client-first message holds two escaped names of at most 255 bytes (tripled by `=2C` escapes) and a nonce;
    /// a client-final one holds the base64 GS2 header with binding data, the nonce and a proof. Real clients send
    /// well under 300 bytes.
    public static var maximumMessageLength: Int { SCRAMServerExchange.maximumMessageLength }

    private var exchange: SCRAMServerExchange

    /// Creates the mechanism for one attempt.
    ///
    /// - Parameters:
    ///   - context: where secrets are read and how names map to users.
    ///   - iterations: the PBKDF2 count used with a plaintext `userPassword` and for unknown users (Cyrus's
    ///     `scram_iteration_counter`); clamped to 1...``SCRAMVerifier/maximumIterations``. Keep it equal to the count
    ///     of stored verifiers, so that the count announced does not tell stored users from unknown ones.
    ///   - channelBindings: the bindings this connection offers. Pass them exactly when the `-PLUS` variant is
    ///     advertised: a non-PLUS mechanism then refuses a client that says `y` (it believes the server cannot bind,
    ///     a sign of a downgrade), and a `-PLUS` mechanism accepts only these types. Empty for a `-PLUS` mechanism
    ///     means every attempt fails.
    public init(
        context: SASLServerContext,
        iterations: Int = SCRAMVerifier.defaultIterations,
        channelBindings: [SCRAMChannelBinding] = []
    ) {
        exchange = SCRAMServerExchange(
            hash: Variant.hash,
            usesChannelBinding: Variant.usesChannelBinding,
            context: context,
            iterations: iterations,
            channelBindings: channelBindings
        )
    }

    /// Wraps a prepared exchange (tests fix the server nonce and the derived salt this way).
    package init(exchange: SCRAMServerExchange) {
        self.exchange = exchange
    }

    /// The `n=` user name of the client-first message, with `=2C` and `=3D` decoded (before SASLprep), once that
    /// message parsed.
    public var claimedLogin: [UInt8]? { exchange.claimedLogin }

    /// Whether the client-first message led to a lookup of the user's secrets.
    public var hasReadSecrets: Bool { exchange.hasReadSecrets }

    /// Feeds the client's next response; see ``SASLServerMechanism/step(_:)``.
    public mutating func step(_ response: [UInt8]?) -> SASLStep {
        exchange.step(response)
    }
}

/// The SCRAM-SHA-1 server mechanism.
public typealias SCRAMSHA1Mechanism = SCRAMMechanism<SCRAMSHA1>
/// The SCRAM-SHA-256 server mechanism.
public typealias SCRAMSHA256Mechanism = SCRAMMechanism<SCRAMSHA256>
/// The SCRAM-SHA-1-PLUS server mechanism.
public typealias SCRAMSHA1PlusMechanism = SCRAMMechanism<SCRAMSHA1Plus>
/// The SCRAM-SHA-256-PLUS server mechanism.
public typealias SCRAMSHA256PlusMechanism = SCRAMMechanism<SCRAMSHA256Plus>
